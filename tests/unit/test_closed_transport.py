"""A write to a Kafka connection the broker closed is a broken connection aiokafka retries, on uvloop too
(shared/messaging/broker.py; aio-libs/aiokafka#1038)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import uvloop
from aiokafka.conn import AIOKafkaConnection
from aiokafka.errors import KafkaConnectionError
from aiokafka.protocol.admin import ApiVersionRequest

import shared.messaging.broker  # noqa: F401  (patches aiokafka on import, as every service's runtime does)


async def closed_connection() -> AIOKafkaConnection:
    """A connection whose TCP transport the other side has closed, as after the broker is killed."""
    server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.read()  # the broker went away
    writer.transport.abort()
    await asyncio.sleep(0.05)
    server.close()
    connection = AIOKafkaConnection("127.0.0.1", port)
    connection._reader, connection._writer, connection._versions = reader, writer, {}
    connection._read_task = asyncio.create_task(asyncio.sleep(0))  # its reader, which saw the end
    await connection._read_task
    return connection


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda c: c.send(ApiVersionRequest()), id="a request"),
        pytest.param(lambda c: c._send_sasl_token(b"n,,n=intake,r=nonce"), id="a SASL token while authenticating"),
    ],
)
def test_on_uvloop_it_is_a_connection_error_not_a_runtime_error(write: Callable[[AIOKafkaConnection], object]) -> None:
    async def send() -> None:
        connection = await closed_connection()
        with pytest.raises(KafkaConnectionError, match="broken"):
            write(connection)
        assert connection._writer is None  # closed: the client connects afresh

    uvloop.run(send())
