"""Stopping the servers the project's scripts start (brokers, databases, stores, mirrors): each by its
own process, politely first."""

from __future__ import annotations

import signal
import subprocess


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float, how: signal.Signals = signal.SIGTERM) -> None:
    """`how` (SIGTERM: a clean shutdown), then SIGKILL if it has not ended within `timeout`."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(how)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def kill_process(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL, as a crash would."""
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()
