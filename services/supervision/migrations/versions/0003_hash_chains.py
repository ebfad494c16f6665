"""timeline entries sealed into their case's hash chain and the center's ledger (tamper-evident record)

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("timeline") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("previous_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("entry_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("ledger_position", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ledger_hash", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_timeline_case_sequence", ["case_id", "sequence"])
        batch.create_unique_constraint("uq_timeline_ledger_position", ["ledger_position"])


def downgrade() -> None:
    with op.batch_alter_table("timeline") as batch:
        batch.drop_constraint("uq_timeline_ledger_position", type_="unique")
        batch.drop_constraint("uq_timeline_case_sequence", type_="unique")
        for column in ("ledger_hash", "ledger_position", "entry_hash", "previous_hash", "sequence"):
            batch.drop_column(column)
