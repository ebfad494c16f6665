"""work sent to departments and whether they took it (送达异常), and each bridge's latest report

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_deliveries",
        sa.Column("work_order_id", sa.String(length=100), nullable=False),
        sa.Column("work", sa.String(length=16), nullable=False, comment="review<round> or handle"),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True, comment="None: not taken yet (or closed)"),
        sa.Column("closed", sa.Boolean(), nullable=False, comment="the case ended before it was taken"),
        sa.Column("alert_id", sa.String(length=64), nullable=True, comment="the 送达异常 raised on it"),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("work_order_id", "work"),
    )
    with op.batch_alter_table("work_deliveries") as batch:
        batch.create_index("ix_work_deliveries_waiting", ["taken_at", "issued_at"], unique=False)
        batch.create_index(batch.f("ix_work_deliveries_case_id"), ["case_id"], unique=False)
        batch.create_index(batch.f("ix_work_deliveries_department"), ["department"], unique=False)
    op.create_table(
        "bridges",
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("bridge", sa.String(length=16), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, comment="supervision's clock when the report arrived"
        ),
        sa.Column("waiting", sa.Integer(), nullable=False),
        sa.Column("oldest_waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False, comment="the whole report"),
        sa.PrimaryKeyConstraint("department"),
    )


def downgrade() -> None:
    op.drop_table("bridges")
    with op.batch_alter_table("work_deliveries") as batch:
        batch.drop_index(batch.f("ix_work_deliveries_department"))
        batch.drop_index(batch.f("ix_work_deliveries_case_id"))
        batch.drop_index("ix_work_deliveries_waiting")
    op.drop_table("work_deliveries")
