"""In-memory stand-ins for what a test does not exercise (Kafka, for where dead letters go)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.messaging.consumer import Origin


@dataclass
class KeptDeadLetters:
    """Where a consumer's dead letters go in a test without a broker: kept, with their causes, to be read."""

    letters: list[tuple[Origin, str]] = field(default_factory=list)

    async def send(self, origin: Origin, error: str) -> None:
        self.letters.append((origin, error))

    @property
    def reasons(self) -> list[str]:
        return [error for _, error in self.letters]
