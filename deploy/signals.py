"""Waiting for Ctrl-C or SIGTERM in a launcher, after its children have been started."""

from __future__ import annotations

import signal


def wait_for_stop() -> None:
    """Block until SIGINT or SIGTERM. Signals are blocked only now, so children never inherit the mask."""
    stops = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    signal.sigwait(stops)
