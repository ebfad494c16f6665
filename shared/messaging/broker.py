"""The one way a Lianban process connects to Kafka."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any

from aiokafka import errors
from aiokafka.conn import AIOKafkaConnection, CloseReason
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.settings import KafkaSettings


def _send_on_a_closed_transport_is_a_broken_connection() -> None:
    """aiokafka takes a write to a connection the broker closed for a broken connection (retried) when the
    loop raises OSError; uvloop, the services' loop, raises RuntimeError instead, and a consumer's group
    coordination task died of it, leaving the consumer to fail every poll for good (aio-libs/aiokafka#1038,
    open; seen in `tests/e2e/test_kill9.py` with the broker killed: every case of the gateway lost). Both
    of aiokafka's writes are patched: a request's, and a SASL token's while the connection authenticates
    (there the RuntimeError would escape the client's connect, which catches OSError and Kafka's errors).
    Patched here, in the one module every Lianban Kafka client comes through, until aiokafka catches it."""
    for name in ("send", "_send_sasl_token"):
        write = getattr(AIOKafkaConnection, name)
        if not getattr(write, "lianban_patched", False):
            setattr(AIOKafkaConnection, name, _broken_when_closed(write))


def _broken_when_closed(write: Callable[..., Any]) -> Callable[..., Any]:
    def patched(self: AIOKafkaConnection, *args: Any, **kwargs: Any) -> Any:
        try:
            return write(self, *args, **kwargs)
        except RuntimeError as exc:
            if "closed" not in str(exc):
                raise
            self.close(reason=CloseReason.CONNECTION_BROKEN)
            raise errors.KafkaConnectionError(f"Connection at {self.host}:{self.port} broken: {exc}") from exc

    patched.lianban_patched = True  # type: ignore[attr-defined]
    return patched


_send_on_a_closed_transport_is_a_broken_connection()


def make_broker(kafka: KafkaSettings, client_id: str) -> KafkaBroker:
    """An idempotent producer with acks=all, with the cluster's SASL/TLS settings passed through."""
    return KafkaBroker(
        kafka.bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=0,  # the outbox relay hands over a batch at a time (it gathers when busy): lingering only delayed it
        security=_security(kafka),
        logger=logging.getLogger("faststream"),
        # no dependency injection into handlers: the one handler (BatchConsumer's) takes the message its
        # decoder hands it, and resolving it as FastStream's context cost a worker-thread round trip a batch
        apply_types=False,
        log_level=logging.DEBUG,  # one line per message only when asked for; failures are logged as errors
    )


def _security(kafka: KafkaSettings) -> BaseSecurity | None:
    use_ssl = kafka.security_protocol in ("SSL", "SASL_SSL")
    context = _ssl_context(kafka) if use_ssl else None
    if kafka.security_protocol.startswith("SASL"):
        user, password = kafka.sasl_username or "", kafka.sasl_password or ""
        sasl = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
        return sasl[kafka.sasl_mechanism](user, password, ssl_context=context, use_ssl=use_ssl)
    if context is not None:
        return BaseSecurity(ssl_context=context, use_ssl=True)
    return None


def _ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=kafka.ssl_cafile)
    if kafka.ssl_certfile:
        context.load_cert_chain(kafka.ssl_certfile, kafka.ssl_keyfile)
    return context


def client_security(kafka: KafkaSettings) -> dict[str, object]:
    """The same settings as keyword arguments for a plain aiokafka client (admin, tools)."""
    options: dict[str, object] = {"security_protocol": kafka.security_protocol}
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = _ssl_context(kafka)
    if kafka.security_protocol.startswith("SASL"):
        options |= {
            "sasl_mechanism": kafka.sasl_mechanism,
            "sasl_plain_username": kafka.sasl_username,
            "sasl_plain_password": kafka.sasl_password,
        }
    return options
