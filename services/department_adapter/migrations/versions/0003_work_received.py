"""work items keep when they were queued and when the department side took them (签收)

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
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True, comment="taken off the work topic"))
        batch_op.add_column(
            sa.Column("received_at", sa.DateTime(timezone=True), nullable=True, comment="taken by the department side")
        )
        batch_op.create_index("ix_work_items_waiting", ["status", "received_at", "queued_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_index("ix_work_items_waiting")
        batch_op.drop_column("received_at")
        batch_op.drop_column("queued_at")
