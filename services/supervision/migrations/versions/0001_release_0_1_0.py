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
        "alerts",
        sa.Column("alert_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("work_order_id", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.String(length=1000), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("alert_id"),
        sa.UniqueConstraint("work_order_id", "kind", "sequence"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_issued_at"), ["issued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_kind"), ["kind"], unique=False)

    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("matter_code", sa.String(length=64), nullable=False),
        sa.Column("lead_department", sa.String(length=64), nullable=False),
        sa.Column("applicant_id", sa.String(length=32), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overall_days", sa.Integer(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("concluded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("evaluation", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("case_id"),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_applicant_matter", ["applicant_id", "matter_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_matter_code"), ["matter_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_submitted_at"), ["submitted_at"], unique=False)

    op.create_table(
        "part_clocks",
        sa.Column("work_order_id", sa.String(length=100), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("part_code", sa.String(length=64), nullable=False),
        sa.Column("matter_code", sa.String(length=64), nullable=False),
        sa.Column("time_limit_days", sa.Integer(), nullable=False),
        sa.Column("silence_means_yes", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspensions", sa.JSON(), nullable=False),
        sa.Column("suspended_days", sa.Integer(), nullable=False),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("ladder_round", sa.Integer(), nullable=False),
        sa.Column("pending_extension_days", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_answer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("urges", sa.JSON(), nullable=False),
        sa.Column("urge_count", sa.Integer(), nullable=False),
        sa.Column("reminded", sa.Boolean(), nullable=False),
        sa.Column("yellow", sa.Boolean(), nullable=False),
        sa.Column("red", sa.Boolean(), nullable=False),
        sa.Column("shirking", sa.Boolean(), nullable=False),
        sa.Column("deemed", sa.Boolean(), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("calendar_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("work_order_id"),
    )
    with op.batch_alter_table("part_clocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_part_clocks_calendar_error"), ["calendar_error"], unique=False)
        batch_op.create_index(batch_op.f("ix_part_clocks_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_part_clocks_department"), ["department"], unique=False)
        batch_op.create_index("ix_part_clocks_due", ["next_check_at"], unique=False)

    op.create_table(
        "timeline",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timeline_case_id"), ["case_id"], unique=False)

    op.create_table(
        "violations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "case_id", "event_id"),
    )
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_violations_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_violations_kind"), ["kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_violations_kind"))
        batch_op.drop_index(batch_op.f("ix_violations_case_id"))

    op.drop_table("violations")
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_case_id"))

    op.drop_table("timeline")
    with op.batch_alter_table("part_clocks", schema=None) as batch_op:
        batch_op.drop_index("ix_part_clocks_due")
        batch_op.drop_index(batch_op.f("ix_part_clocks_department"))
        batch_op.drop_index(batch_op.f("ix_part_clocks_case_id"))
        batch_op.drop_index(batch_op.f("ix_part_clocks_calendar_error"))

    op.drop_table("part_clocks")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_cases_matter_code"))
        batch_op.drop_index("ix_cases_applicant_matter")

    op.drop_table("cases")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_kind"))
        batch_op.drop_index(batch_op.f("ix_alerts_issued_at"))
        batch_op.drop_index(batch_op.f("ix_alerts_department"))
        batch_op.drop_index(batch_op.f("ix_alerts_case_id"))

    op.drop_table("alerts")
    messaging.drop_tables_0_1_0()
