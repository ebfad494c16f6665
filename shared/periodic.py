"""Work a process repeats on an interval (a report, a scan, a poll): started, kept going through
failures (logged, tried again at the next round), and stopped, the same way everywhere."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    """`work` every `seconds`, the first time at once unless `wait_first`."""

    def __init__(self, name: str, seconds: float, work: Callable[[], Awaitable[object]], *, wait_first: bool = False) -> None:
        self.name, self.seconds, self.work, self.wait_first = name, seconds, work, wait_first
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    @property
    def running(self) -> bool:
        """Started, and not ended (a failing round does not end it)."""
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        if self.wait_first:
            await asyncio.sleep(self.seconds)
        while True:
            try:
                await self.work()
            except Exception:
                log.exception("%s failed; trying again in %.1fs", self.name, self.seconds)
            await asyncio.sleep(self.seconds)


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next try after `attempts` failed ones: doubling from `base`, at most `cap`."""
    return float(min(base * 2 ** (attempts - 1), cap))
