"""a department's due parts in deadline order: the ladder scanner takes one department's at a time (replicas scan
different departments at once), so its index leads with the department and orders by the next check; it serves
the department-only lookups too, in place of the department's own index

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("part_clocks") as batch_op:
        batch_op.create_index("ix_part_clocks_department_due", ["department", "next_check_at"], unique=False)
        batch_op.drop_index("ix_part_clocks_department")


def downgrade() -> None:
    with op.batch_alter_table("part_clocks") as batch_op:
        batch_op.create_index("ix_part_clocks_department", ["department"], unique=False)
        batch_op.drop_index("ix_part_clocks_department_due")
