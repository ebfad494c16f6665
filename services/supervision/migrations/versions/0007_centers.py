"""centers exchanging cases: a city's roll-up of its districts (each child's latest figures); a transferred part's
origin and the status last sent home; a part transferred up, as the deciding center reports it

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "center_figures",
        sa.Column("center", sa.String(length=32), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("center"),
    )
    op.create_table(
        "away_parts",
        sa.Column("work_order_id", sa.String(length=100), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("center", sa.String(length=32), nullable=False),
        sa.Column("department_name", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("yellow_cards", sa.Integer(), nullable=False),
        sa.Column("red_cards", sa.Integer(), nullable=False),
        sa.Column("urges", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("work_order_id"),
    )
    with op.batch_alter_table("away_parts") as batch:
        batch.create_index(batch.f("ix_away_parts_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("transferred_from", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("origin_work_order", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("status_sent", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_cases_transferred_from"), ["transferred_from"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index(batch.f("ix_cases_transferred_from"))
        batch.drop_column("status_sent")
        batch.drop_column("origin_work_order")
        batch.drop_column("transferred_from")
    op.drop_table("away_parts")
    op.drop_table("center_figures")
