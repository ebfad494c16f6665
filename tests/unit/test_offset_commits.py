"""Offsets committed by one background task, at most once an interval, only up to what was applied;
the handler that applied them never waits for a commit."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from shared.messaging.commits import Committer, rewind

P0, P1 = TopicPartition("t", 0), TopicPartition("t", 1)


class Consumer:
    """Records the commits; `hold` keeps a commit waiting, as one does while the broker is away."""

    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.fail: BaseException | None = None
        self.hold = asyncio.Event()
        self.hold.set()
        self.waiting = 0
        self.positions: dict[TopicPartition, int] = {}
        self.revoked: set[TopicPartition] = set()

    def seek(self, partition: TopicPartition, offset: int) -> None:
        if partition in self.revoked:
            raise IllegalStateError(f"{partition} is not assigned")
        self.positions[partition] = offset

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.waiting += 1
        await self.hold.wait()
        self.waiting -= 1
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure
        self.commits.append(dict(offsets))


def records(partition: int, *offsets: int) -> list[ConsumerRecord[Any, Any]]:
    return [ConsumerRecord("t", partition, o, 0, 0, None, b"", None, 0, 0, []) for o in offsets]


async def test_what_is_applied_within_an_interval_is_committed_once_as_the_next_offset_to_read() -> None:
    consumer, committer = Consumer(), Committer(0.1)
    committer.applied(consumer, records(0, 0, 1))
    committer.applied(consumer, records(0, 2))
    committer.applied(consumer, records(1, 7))
    assert consumer.commits == []  # handed over, not committed by the handler
    await asyncio.sleep(0.2)
    assert consumer.commits == [{P0: 3, P1: 8}]
    await asyncio.sleep(0.2)
    assert len(consumer.commits) == 1  # nothing new applied: nothing sent
    await committer.close()


async def test_a_commit_waiting_for_the_broker_never_holds_up_the_handlers_and_one_commit_waits_at_a_time() -> None:
    consumer, committer = Consumer(), Committer(0.05)
    consumer.hold.clear()  # the broker is away
    committer.applied(consumer, records(0, 4))
    await asyncio.sleep(0.1)
    for offset in range(5, 50):  # batches keep being applied meanwhile
        committer.applied(consumer, records(0, offset))
        await asyncio.sleep(0.005)
    assert consumer.waiting == 1
    consumer.hold.set()  # the broker is back
    await asyncio.sleep(0.15)
    assert consumer.commits == [{P0: 5}, {P0: 50}]
    await committer.close()


async def test_a_failed_commit_is_tried_again_and_offsets_a_rebalance_took_are_not_pushed_again() -> None:
    consumer, committer = Consumer(), Committer(0.05)
    consumer.fail = ConnectionError("broker away")
    committer.applied(consumer, records(0, 4))
    await asyncio.sleep(0.15)  # no batch comes: the committer tries again by itself
    assert consumer.commits == [{P0: 5}]
    consumer.fail = CommitFailedError("rebalanced")
    committer.applied(consumer, records(1, 9))
    await asyncio.sleep(0.1)
    committer.applied(consumer, records(0, 5))
    await asyncio.sleep(0.1)
    assert consumer.commits == [{P0: 5}, {P0: 6}]


async def test_closing_commits_what_is_left_and_a_late_batch_starts_no_task() -> None:
    consumer, committer = Consumer(), Committer(60)
    committer.applied(consumer, records(0, 0))
    await committer.close()
    assert consumer.commits == [{P0: 1}]
    committer.applied(consumer, records(0, 1))  # the consumer is still stopping
    await asyncio.sleep(0)
    assert committer._task is None


def test_a_failed_batch_rewinds_every_partition_it_spans_to_its_first_record_there() -> None:
    consumer, p2 = Consumer(), TopicPartition("t", 2)
    consumer.revoked.add(p2)  # taken away meanwhile: its new owner reads from the last commit
    rewind(consumer, records(1, 7, 8) + records(0, 4, 5, 6) + records(2, 1))
    assert consumer.positions == {P0: 4, P1: 7}
