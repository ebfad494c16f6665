"""Ports for the servers the project's scripts start, chosen below the kernel's ephemeral range.

A port from that range (what binding port 0 gives) is free when chosen, but any outgoing connection, a
Kafka client's among them, can take it as its local end before the server binds it: with three centers
starting dozens of processes at once, a service then fails with "address already in use". Below the range
only another listener can take a port; none is handed out twice by this process (two servers chosen before
either binds would otherwise meet), and the choice is random so that concurrent runs rarely meet."""

from __future__ import annotations

import functools
import random
import socket
from pathlib import Path

LOWEST = 10_000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_given: set[int] = set()


def free_port() -> int:
    """A port no one listens on now."""
    return free_port_block(1)


def free_port_block(size: int) -> int:
    """The first of `size` consecutive free ports (one per department for adapters or simulators; a center
    without departments still gets one, unused)."""
    size = max(size, 1)
    highest = _ephemeral_start() - size
    while True:
        # the whole range ephemeral: the kernel's choice is as good as any
        first = random.randrange(LOWEST, highest) if highest > LOWEST else _kernel_choice()
        block = range(first, first + size)
        if block[-1] < 65_535 and _given.isdisjoint(block) and all(map(_is_free, block)):
            _given.update(block)
            return first


@functools.cache
def _ephemeral_start() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _kernel_choice() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
