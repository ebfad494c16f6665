"""Offsets committed at most once per interval, only up to what was applied, the tail by a timer."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError

from shared.messaging.consumer import Commits


class Consumer:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.fail = fail

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure
        self.commits.append(dict(offsets))


def records(partition: int, *offsets: int) -> list[ConsumerRecord[Any, Any]]:
    return [ConsumerRecord("t", partition, o, 0, 0, None, b"", None, 0, 0, []) for o in offsets]


async def test_the_first_batch_commits_the_next_ones_wait_and_the_tail_is_committed_by_the_timer() -> None:
    consumer, commits = Consumer(), Commits(0.2)
    await commits.processed(consumer, records(0, 0, 1))
    assert consumer.commits == [{TopicPartition("t", 0): 2}]  # the next offset to read
    await commits.processed(consumer, records(0, 2))
    await commits.processed(consumer, records(1, 7))
    assert len(consumer.commits) == 1  # within the interval: not yet
    await asyncio.sleep(0.3)
    assert consumer.commits[1] == {TopicPartition("t", 0): 3, TopicPartition("t", 1): 8}


async def test_a_failed_commit_is_tried_again_and_a_rebalance_drops_what_it_took() -> None:
    consumer, commits = Consumer(fail=ConnectionError("broker away")), Commits(0.05)
    await commits.processed(consumer, records(0, 4))
    assert consumer.commits == []
    await asyncio.sleep(0.1)  # no batch comes: the timer tries again
    assert consumer.commits == [{TopicPartition("t", 0): 5}]
    consumer.fail = CommitFailedError("rebalanced")
    await asyncio.sleep(0.1)
    await commits.processed(consumer, records(0, 5))
    await asyncio.sleep(0.1)
    await commits.flush()
    assert len(consumer.commits) == 1  # the offsets the rebalance took are not pushed again
