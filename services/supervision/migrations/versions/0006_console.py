"""what the console's operators act on: dead letters (redrive, discard) and complaints (投诉)

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("letter_id", sa.String(length=64), nullable=False, comment="the dead letter's event id"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("event_type", sa.String(length=100), nullable=True),
        sa.Column("original", sa.Text(), nullable=False, comment="the original as text, its first 64 KiB"),
        sa.Column("original_bytes", sa.Integer(), nullable=False),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False, comment="open, redriven or discarded"),
        sa.Column("acted_by", sa.String(length=64), nullable=True),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("act_reason", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("letter_id"),
    )
    with op.batch_alter_table("dead_letters") as batch:
        batch.create_index("ix_dead_letters_status_received", ["status", "received_at"], unique=False)
        batch.create_index(batch.f("ix_dead_letters_case_id"), ["case_id"], unique=False)
    op.create_table(
        "complaints",
        sa.Column("complaint_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("content", sa.String(length=2000), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("filed_via", sa.String(length=16), nullable=False, comment="window, applicant or supervisor"),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=2000), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("complaint_id"),
    )
    with op.batch_alter_table("complaints") as batch:
        batch.create_index(batch.f("ix_complaints_case_id"), ["case_id"], unique=False)
        batch.create_index(batch.f("ix_complaints_department"), ["department"], unique=False)
        batch.create_index(batch.f("ix_complaints_resolved_at"), ["resolved_at"], unique=False)


def downgrade() -> None:
    op.drop_table("complaints")
    op.drop_table("dead_letters")
