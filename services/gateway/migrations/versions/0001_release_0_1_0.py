"""release 0.1.0: the schema before migrations

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.messaging import migrations as messaging

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    messaging.create_tables_0_1_0()
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("matter_code", sa.String(length=64), nullable=False),
        sa.Column("matter_name", sa.String(length=200), nullable=False),
        sa.Column("lead_department", sa.String(length=64), nullable=False),
        sa.Column("applicant", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("notice", sa.JSON(), nullable=True),
        sa.Column("reply", sa.JSON(), nullable=True),
        sa.Column("delivery", sa.JSON(), nullable=True),
        sa.Column("evaluation", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("case_id"),
    )


def downgrade() -> None:
    op.drop_table("cases")
    messaging.drop_tables_0_1_0()
