"""processed messages keep when they were applied, so old records can be pruned

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from shared.messaging import migrations as messaging

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    messaging.add_processed_at()


def downgrade() -> None:
    messaging.drop_processed_at()
