"""Supervision's settings (``LIANBAN_SUPERVISION_*``); the ladder's defaults are the Policy's own."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Literal

from pydantic_settings import SettingsConfigDict

from services.supervision.domain.ladder import Policy
from services.supervision.domain.stated_time import TimeTrust
from shared.settings import ServiceSettings

LADDER = Policy()  # the thresholds a center starts from
TRUST = TimeTrust()


class SupervisionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANBAN_SUPERVISION_", extra="ignore")

    port: int = 8103
    scan_interval_seconds: float = 1.0
    scan_batch_size: int = 500
    seal_interval_seconds: float = 1.0  # how soon a timeline entry joins the hash chains
    # "system" follows the wall clock; "manual" lets an operator or a test set the time
    # through POST /api/v1/supervision/clock (demos and tests only).
    clock: Literal["system", "manual"] = "system"
    workday_end: time = time(17, 0)
    # The warning ladder, in working days (this center's thresholds).
    remind_days_before: int = LADDER.remind_days_before
    urge_every_days: int = LADDER.urge_every_days
    shirk_after_urges: int = LADDER.shirk_after_urges
    red_after_overdue_days: int = LADDER.red_after_overdue_days
    red_after_yellow_cards: int = LADDER.red_after_yellow_cards
    deem_after_urge_days: int = LADDER.deem_after_urge_days

    # A department's signed time ahead of its receipt by more than this, or behind it by more than
    # that, is flagged (doubtful_time); a center whose departments use a ferry raises the transit.
    stated_time_tolerance_seconds: float = TRUST.tolerance.total_seconds()
    stated_time_max_transit_hours: float = TRUST.max_transit.total_seconds() / 3600

    # Work a department's side has not taken (签收) this long after it was sent raises 送达异常.
    undelivered_after_seconds: float = 2 * 3600.0

    # The operators' console: its built pages, and the public client it logs in as at the center's provider
    # (the issuer the browser reaches; the services' own LIANBAN_AUTH_ISSUER when it is the same address).
    console_dir: Path = Path(__file__).parent / "console" / "dist"
    console_client_id: str = "lianban-console"
    console_issuer: str | None = None
    complaint_days: int = 5  # working days a complaint (投诉) has to be resolved in
    figures_seconds: float = 60.0  # how often a center with a parent sends it its figures (汇总)

    def time_trust(self) -> TimeTrust:
        return TimeTrust(
            timedelta(seconds=self.stated_time_tolerance_seconds), timedelta(hours=self.stated_time_max_transit_hours)
        )

    def policy(self) -> Policy:
        return Policy(**{name: getattr(self, name) for name in Policy.__dataclass_fields__})
