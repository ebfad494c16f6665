"""Background loops that sleep until woken or until their interval passes."""

from __future__ import annotations

import asyncio
import contextlib


async def woken_or_idle(wake: asyncio.Event, seconds: float) -> None:
    """Wait for `wake` at most `seconds`, then clear it. Unlike `asyncio.wait_for` on Python 3.11,
    a cancellation that arrives as the event is set is never swallowed, so the loop's task stops."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()
    wake.clear()
