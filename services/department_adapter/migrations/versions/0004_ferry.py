"""the ferry: bundles out and in, refused files, what the department side said of each piece of work

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ferry_bundles_in",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False, comment="applied or waived"),
        sa.Column("digest", sa.String(length=64), nullable=True, comment="SHA-256 of the applied bundle's manifest"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True, comment="as its sender stated"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, comment="when applied or waived"),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "ferry_bundles_out",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False, comment="entries in it"),
        sa.Column("content", sa.LargeBinary(), nullable=False, comment="the file as written"),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=True, comment="its file written"),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "ferry_outbound",
        sa.Column("key", sa.String(length=160), nullable=False, comment="what the entry is about: queued once"),
        sa.Column("entry", sa.Text(), nullable=False, comment="the entry, JSON"),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bundle_seq", sa.Integer(), nullable=True, comment="the bundle it left in"),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("ferry_outbound", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ferry_outbound_bundle_seq"), ["bundle_seq"], unique=False)

    op.create_table(
        "ferry_refused",
        sa.Column("sha256", sa.String(length=64), nullable=False, comment="of the file"),
        sa.Column("seq", sa.Integer(), nullable=False, comment="the number it claimed, -1 if none"),
        sa.Column("file", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "ferry_replies",
        sa.Column("item_id", sa.String(length=120), nullable=False, comment="work order id, phase and round"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True, comment="taken (签收), as stated"),
        sa.Column("action", sa.Text(), nullable=True, comment="the answer, JSON"),
        sa.Column("staff_id", sa.String(length=64), nullable=True),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True, comment="answered or acknowledged, as stated"),
        sa.Column("refused", sa.String(length=2000), nullable=True, comment="why the department's system refused it"),
        sa.Column("bundle_seq", sa.Integer(), nullable=False, comment="the bundle that brought the latest of it"),
        sa.PrimaryKeyConstraint("item_id"),
    )


def downgrade() -> None:
    op.drop_table("ferry_replies")
    op.drop_table("ferry_refused")
    with op.batch_alter_table("ferry_outbound", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ferry_outbound_bundle_seq"))

    op.drop_table("ferry_outbound")
    op.drop_table("ferry_bundles_out")
    op.drop_table("ferry_bundles_in")
