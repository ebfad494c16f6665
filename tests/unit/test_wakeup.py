"""A background loop stops when told, even if it was woken at that very moment (Python 3.11's
`asyncio.wait_for` swallowed that cancellation, and a shutdown hung)."""

from __future__ import annotations

import asyncio

import pytest

from shared.wakeup import woken_or_idle


async def test_a_loop_woken_as_it_is_cancelled_stops() -> None:
    wake = asyncio.Event()

    async def loop() -> None:
        while True:
            await woken_or_idle(wake, 0.5)

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.01)
    wake.set()
    await asyncio.sleep(0)  # the waiter is woken: the race the old wait_for lost
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)


async def test_it_returns_when_woken_and_clears_the_event() -> None:
    wake = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, wake.set)
    await woken_or_idle(wake, 5)
    assert not wake.is_set()
