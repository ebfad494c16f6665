"""The ports the project's scripts give their servers (deploy/ports.py): free, never handed out twice, and
outside the range the kernel takes outgoing connections' local ports from."""

from __future__ import annotations

import socket

import pytest

from deploy.ports import _ephemeral_start, free_port, free_port_block


def test_ports_are_distinct_free_and_below_the_ephemeral_range() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(port < _ephemeral_start() for port in ports)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", ports[-1]))  # free indeed


def test_a_block_is_consecutive_and_shares_no_port_with_another() -> None:
    blocks = [range(first, first + 5) for first in (free_port_block(5) for _ in range(50))]
    empty = free_port_block(0)  # a center without departments: one port all the same
    blocks.append(range(empty, empty + 1))
    given = [port for block in blocks for port in block]
    assert len(set(given)) == len(given)


def test_a_port_someone_listens_on_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", free_port()))
        listener.listen()
        taken = listener.getsockname()[1]
        choices = iter([taken, taken + 1])
        monkeypatch.setattr("deploy.ports.random.randrange", lambda _low, _high: next(choices))
        assert free_port() == taken + 1
