"""The local worker's pace: records are handled as soon as they are read, the next read follows at once, empty
reads keep the busy pause for a while after records, then back off to the idle one. A stand-in stream, a clock
moved by hand and a sleeper that moves it: no real waiting, no DynamoDB."""
from __future__ import annotations

import dataclasses
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.core.submission import Submission
from chalicelib.wiring import Services, build_memory_services
from formloop_cli.worker import PollPace, StreamWorker

from .services.support import memory_settings


class Stream:
    """DynamoDB Streams as the worker calls it, over shards the test appends records to and closes."""

    class exceptions:  # noqa: N801 (botocore's naming)
        class ExpiredIteratorException(Exception):
            """The iterator is too old."""

        class TrimmedDataAccessException(Exception):
            """The records are gone."""

    def __init__(self) -> None:
        self.shards: dict[str, list[dict[str, Any]]] = {"shard-1": []}
        self.closed: set[str] = set()
        self.shard_listings = 0

    def describe_table(self, TableName: str) -> dict[str, Any]:  # noqa: N803 (botocore's naming)
        return {"Table": {"LatestStreamArn": "arn:stream"}}

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:  # noqa: N803
        self.shard_listings += 1
        return {"StreamDescription": {"Shards": [{"ShardId": shard} for shard in self.shards]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str,  # noqa: N803
                           SequenceNumber: str | None = None) -> dict[str, str]:
        sequences = [record["dynamodb"]["SequenceNumber"] for record in self.shards[ShardId]]
        position = 0 if ShardIteratorType == "TRIM_HORIZON" else sequences.index(SequenceNumber or "")
        position += ShardIteratorType == "AFTER_SEQUENCE_NUMBER"
        return {"ShardIterator": f"{ShardId}@{position}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803
        shard, position = ShardIterator.split("@")
        batch = self.shards[shard][int(position):int(position) + Limit]
        following = int(position) + len(batch)
        if shard in self.closed and following == len(self.shards[shard]):
            return {"Records": batch}  # a closed shard read to its end has no next iterator
        return {"Records": batch, "NextShardIterator": f"{shard}@{following}"}

    def append(self, shard: str, submission: Submission) -> None:
        sequence = f"{sum(len(records) for records in self.shards.values()) + 1:021d}"
        self.shards[shard].append({"eventName": "INSERT", "dynamodb": {
            "SequenceNumber": sequence, "NewImage": {"form": {"S": submission.form}, "id": {"S": submission.id}}}})


class Clock:
    """Monotonic seconds, moved by hand (or by the Sleeper)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Sleeper:
    """Moves the clock instead of waiting; runs the test's script at each pause and stops the worker after it."""

    def __init__(self, clock: Clock, script: dict[int, Any], stop_after: int) -> None:
        self.clock = clock
        self.pauses: list[float] = []
        self.script = script
        self.stop_after = stop_after

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.now += seconds
        action = self.script.get(len(self.pauses))
        if action is not None:
            action()
        if len(self.pauses) >= self.stop_after:
            raise KeyboardInterrupt  # what Ctrl-C does: the worker leaves its loop


@pytest.fixture(autouse=True)
def keep_sigterm() -> Iterator[None]:
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)  # run() installs its own handler


@pytest.fixture
def handled() -> list[str]:
    return []


@pytest.fixture
def services(handled: list[str]) -> Services:
    built = build_memory_services(memory_settings())
    return dataclasses.replace(built, consumers=[lambda submission: handled.append(submission.id)])


def stored(services: Services, number: int) -> Submission:
    submission = Submission(form="contact", id=f"01J0000000000000000000000{number}", created_at=datetime.now(UTC),
                            status="received", answers={"name": "Ann", "email": "ann@example.com"})
    services.store.put(submission)
    return submission


def test_pace_stays_busy_after_records_then_backs_off_to_idle() -> None:
    clock = Clock()
    pace = PollPace(busy_seconds=0.25, idle_seconds=2.0, busy_for_seconds=1.0, clock=clock)
    assert pace.after(0) == 2.0  # a new worker starts idle
    assert pace.after(3) == 0  # records: read again without a pause
    pauses = []
    for _ in range(8):
        pauses.append(pace.after(0))
        clock.now += pauses[-1]
    assert pauses == [0.25, 0.25, 0.25, 0.25, 0.5, 1.0, 2.0, 2.0]  # busy for a second, then doubling
    assert pace.after(1) == 0 and pace.after(0) == 0.25  # records again: back to the busy pause


def test_an_idle_pace_shorter_than_the_busy_one_is_raised_to_it() -> None:
    assert PollPace(busy_seconds=0.2, idle_seconds=0.1, clock=Clock()).after(0) == 0.2


def test_records_are_handled_when_read_and_the_pauses_shorten_while_they_arrive(services: Services,
                                                                                handled: list[str]) -> None:
    stream = Stream()
    first, second, third = (stored(services, number) for number in range(3))
    worker = StreamWorker(services, None, clients=(stream, stream))
    seen_at_pause: dict[int, list[str]] = {}

    def arrive(*submissions: Submission) -> Any:
        def append() -> None:
            for submission in submissions:
                stream.append("shard-1", submission)
        return append

    def note() -> None:
        seen_at_pause[len(sleeper.pauses)] = list(handled)

    # Two posts arrive during the first (idle) pause, one more during the third pause.
    clock = Clock()
    sleeper = Sleeper(clock, {1: arrive(first, second), 2: note, 3: arrive(third)}, stop_after=10)
    worker.run(pace=PollPace(busy_seconds=0.25, idle_seconds=2.0, busy_for_seconds=1.0, clock=clock), sleep=sleeper)
    # No pause between reading the records and the next read; then busy pauses for a second, doubling to idle.
    assert sleeper.pauses == [2.0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.5, 1.0, 2.0]
    assert seen_at_pause[2] == [first.id, second.id]  # handled before the worker paused again
    assert handled == [first.id, second.id, third.id]
    assert stream.shard_listings == 1  # a quiet stream costs one GetRecords per poll, not a DescribeStream too


def test_a_closed_shard_makes_the_next_poll_list_the_shards_again(services: Services, handled: list[str]) -> None:
    stream = Stream()
    first, second = stored(services, 1), stored(services, 2)
    stream.append("shard-1", first)
    worker = StreamWorker(services, None, clients=(stream, stream))
    assert worker.poll_once() == 1
    stream.closed.add("shard-1")
    stream.shards["shard-2"] = []
    stream.append("shard-2", second)
    assert worker.poll_once() == 0  # shard-1 ends here; shard-2 was not listed yet
    assert worker.poll_once() == 1
    assert handled == [first.id, second.id] and stream.shard_listings == 2


def test_a_failed_record_is_offered_again_only_after_a_second(services: Services) -> None:
    stream = Stream()
    submission = stored(services, 1)
    stream.append("shard-1", submission)
    tries: list[float] = []
    clock = Clock()

    def broken(record: Submission) -> None:
        tries.append(clock.now)
        raise RuntimeError("DynamoDB Local restarting")

    worker = StreamWorker(dataclasses.replace(services, consumers=[broken]), None, clients=(stream, stream),
                          max_record_attempts=3)
    sleeper = Sleeper(clock, {}, stop_after=4)
    worker.run(pace=PollPace(busy_seconds=0.25, idle_seconds=0.5, busy_for_seconds=1.0, clock=clock), sleep=sleeper)
    # Not the busy pace between tries: a short outage must not use up the record's attempts.
    assert [later - earlier for earlier, later in zip(tries, tries[1:], strict=False)] == [1.0, 1.0]
    assert sleeper.pauses[:2] == [1.0, 1.0] and len(tries) == 3  # the third try failed too: moved on
