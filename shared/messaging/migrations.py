"""The messaging tables every service keeps (outbox, processed messages), as migration steps each
service's own migrations call. Each step is frozen once released: a change is a new step."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_tables_0_1_0() -> None:
    """Release 0.1.0: the outbox and the processed-message record."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "processed_messages",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "message_id"),
    )


def drop_tables_0_1_0() -> None:
    op.drop_table("processed_messages")
    op.drop_table("outbox")


def add_processed_at() -> None:
    """Processed messages keep when they were applied, so old records can be pruned."""
    with op.batch_alter_table("processed_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp())
        )


def drop_processed_at() -> None:
    with op.batch_alter_table("processed_messages", schema=None) as batch_op:
        batch_op.drop_column("processed_at")
