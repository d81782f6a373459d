"""The local delivery worker: reads DynamoDB Local's stream of the submissions table and hands every
new submission to all post-write consumers (`services().consumers`) — the same code the Lambda
stream handler runs in AWS. Progress is checkpointed per shard, so a worker that stops or crashes
picks up where it left off and nothing stored is ever skipped.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.core.config import PROJECT_ROOT
from chalicelib.jobs import expire_gifts, handle_stream_record, retry_waiting_emails, send_overdue_digest
from chalicelib.wiring import Services

log = logging.getLogger("formloop.worker")

# How soon the stream is read again after an empty read: every 50 ms for a second after the last records (posts
# keep coming: their emails go out within a fraction of a second), then backing off to the idle pace, so a quiet
# laptop is barely woken. Lambda reads a shard four times a second in AWS (docs/deploy.md).
BUSY_POLL_SECONDS = 0.05
BUSY_FOR_SECONDS = 1.0
IDLE_POLL_SECONDS = 0.5
# A record whose consumers failed is offered again only after this long, so a short outage of DynamoDB Local or
# the mail provider does not use up its attempts in a fraction of a second.
FAILED_RECORD_PAUSE_SECONDS = 1.0
# The shard list is read again this often (and at once when a shard closes), not on every poll: on a quiet stream
# the poll is then one GetRecords call per open shard.
SHARD_LIST_SECONDS = 10.0


class PollPace:
    """The pause before each read of the stream: none after records, the busy pause for `busy_for_seconds`
    after them, then doubling up to the idle pause."""

    def __init__(self, busy_seconds: float = BUSY_POLL_SECONDS, idle_seconds: float = IDLE_POLL_SECONDS,
                 busy_for_seconds: float = BUSY_FOR_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.busy_seconds = busy_seconds
        self.idle_seconds = max(idle_seconds, busy_seconds)
        self.busy_for_seconds = busy_for_seconds
        self.clock = clock
        self.last_records = -math.inf
        self.pause = self.idle_seconds  # a worker starts as if idle

    def after(self, records: int) -> float:
        """The pause before the next read, given how many records the last one processed."""
        now = self.clock()
        if records:
            self.last_records = now
            self.pause = 0.0  # more may be queued behind that batch: read again at once
        elif now - self.last_records < self.busy_for_seconds:
            self.pause = self.busy_seconds
        else:
            self.pause = min(self.idle_seconds, max(self.busy_seconds, self.pause * 2))
        return self.pause


# app.py's email schedule, Rate(5 minutes): the overdue digest rides on it (its own guard makes it hourly).
EMAIL_SCHEDULE_SECONDS = 300.0


class StreamWorker:
    """Polls every shard of the submissions table's stream; one record is done once all consumers ran."""

    def __init__(self, services: Services, checkpoint: Path | None = None, *, start: str = "TRIM_HORIZON",
                 max_record_attempts: int = 5, clients: tuple[Any, Any] | None = None) -> None:
        self.services = services
        self.checkpoint = checkpoint
        # Where a shard never seen before is read from: its beginning, or (tests) only what comes next.
        self.start = start
        self.max_record_attempts = max_record_attempts
        self.dynamodb, self.streams = clients or self._clients()
        self.positions: dict[str, str] = self._load()
        self.iterators: dict[str, str | None] = {}
        self.failures: dict[str, int] = {}
        self.stream_arn = self._stream_arn()
        self.shard_list: list[dict[str, Any]] | None = None
        self.shard_list_read_at = 0.0

    def _clients(self) -> tuple[Any, Any]:
        import botocore.session
        settings = self.services.settings
        session = botocore.session.get_session()
        return tuple(session.create_client(name, region_name=settings.region, endpoint_url=settings.dynamodb_endpoint)
                     for name in ("dynamodb", "dynamodbstreams"))  # type: ignore[return-value]

    def _stream_arn(self) -> str:
        table = self.services.settings.table_name("submissions")
        arn = self.dynamodb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
        if not arn:
            raise SystemExit(f"table {table} has no stream; recreate it (`make clean run`)")
        return str(arn)

    def _load(self) -> dict[str, str]:
        if self.checkpoint is None or not self.checkpoint.is_file():
            return {}
        return dict(json.loads(self.checkpoint.read_text()).get("shards", {}))

    def _save(self) -> None:
        if self.checkpoint is None:
            return
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.checkpoint.with_suffix(".tmp")
        temporary.write_text(json.dumps({"stream": self.stream_arn, "shards": self.positions}, indent=1))
        temporary.replace(self.checkpoint)  # atomic: a crash never leaves half a checkpoint

    def _shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self.streams.describe_stream(**request)["StreamDescription"]
            shards += description["Shards"]
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            request["ExclusiveStartShardId"] = last

    def _iterator(self, shard_id: str) -> str | None:
        if shard_id in self.iterators:
            return self.iterators[shard_id]
        if shard_id not in self.positions and self.start == "LATEST":
            self._skip_to_end(shard_id)
        request = {"StreamArn": self.stream_arn, "ShardId": shard_id, "ShardIteratorType": "TRIM_HORIZON"}
        if self.positions.get(shard_id):
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.positions[shard_id])
        iterator = self.streams.get_shard_iterator(**request).get("ShardIterator")
        self.iterators[shard_id] = iterator
        return iterator  # type: ignore[no-any-return]

    def _skip_to_end(self, shard_id: str) -> None:
        # Not the LATEST iterator type: DynamoDB Local's can point before the shard's first record
        # (TrimmedDataAccessException). Reading to the end and remembering it is exact everywhere.
        last = ""
        iterator = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id,
                                                   ShardIteratorType="TRIM_HORIZON").get("ShardIterator")
        while iterator:
            response = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            if not response.get("Records"):
                break
            last = response["Records"][-1]["dynamodb"]["SequenceNumber"]
            iterator = response.get("NextShardIterator")
        self.positions[shard_id] = last  # "" = from the beginning: the shard had nothing to skip
        self._save()

    def poll_once(self) -> int:
        """Read what is new on every shard and process it; how many records were done."""
        if self.shard_list is None or time.monotonic() - self.shard_list_read_at >= SHARD_LIST_SECONDS:
            self.shard_list, self.shard_list_read_at = self._shards(), time.monotonic()
        done = 0
        for shard in self.shard_list:
            done += self._drain(shard["ShardId"])
        return done

    def _drain(self, shard_id: str) -> int:
        done = 0
        iterator = self._iterator(shard_id)
        while iterator:
            try:
                response = self.streams.get_records(ShardIterator=iterator, Limit=100)
            except (self.streams.exceptions.ExpiredIteratorException,
                    self.streams.exceptions.TrimmedDataAccessException):
                self.iterators.pop(shard_id, None)  # start again from the checkpoint
                iterator = self._iterator(shard_id)
                response = self.streams.get_records(ShardIterator=iterator, Limit=100)
            records = response.get("Records", [])
            iterator = response.get("NextShardIterator")
            self.iterators[shard_id] = iterator
            if iterator is None:
                self.shard_list = None  # the shard closed: its children are read from the next poll on
            for record in records:
                if not self.process(shard_id, record):
                    return done  # retried from this record on the next poll
                done += 1
            if not records:
                break
        return done

    def process(self, shard_id: str, record: dict[str, Any]) -> bool:
        """Run all consumers on one record and checkpoint it; False to offer it again later."""
        sequence = record["dynamodb"]["SequenceNumber"]
        failures = handle_stream_record(self.services, record["eventName"], record["dynamodb"].get("NewImage"))
        if failures:
            attempts = self.failures[sequence] = self.failures.get(sequence, 0) + 1
            if attempts < self.max_record_attempts:
                # Consumers are idempotent: read again from this very record on the next poll.
                self.iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER",
                    SequenceNumber=sequence)["ShardIterator"]
                return False
            log.error("record %s failed %d times; moving on (see its delivery records)", sequence, attempts)
        self.failures.pop(sequence, None)
        self.positions[shard_id] = sequence
        self._save()
        return True

    def retry_waiting(self) -> None:
        """What the 5-minute schedule does in AWS: the next round for emails whose provider kept failing."""
        try:
            retry_waiting_emails(self.services)
        except Exception:  # the mail provider or DynamoDB Local misbehaving: the next round tries again
            log.exception("retrying waiting emails failed; trying again later")

    def record_gift_expiries(self) -> None:
        """What the hourly schedule does in AWS: record the expiry of gifts past their date."""
        try:
            expire_gifts(self.services)
        except Exception:  # DynamoDB Local misbehaving: the next hour tries again
            log.exception("recording gift expiries failed; trying again later")

    def send_overdue_digest(self) -> int:
        """What the email schedule does in AWS besides retrying: the team digest of overdue cases.

        Its hourly guard and once-per-case-per-day markers are stored in the cases table, so a restarted
        worker that runs this again at once sends nothing twice.
        """
        return send_overdue_digest(self.services)  # never raises: a failed round is tried next hour

    def run(self, poll_seconds: float = IDLE_POLL_SECONDS, retry_seconds: float = 30.0,
            expire_seconds: float = 3600.0, digest_seconds: float = EMAIL_SCHEDULE_SECONDS, *,
            pace: PollPace | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        """Poll until stopped (Ctrl-C or SIGTERM) at `pace` (by default busy after records, backing off to
        `poll_seconds`); every `retry_seconds`, give waiting emails their next round, every `digest_seconds` offer
        the overdue digest, and every `expire_seconds` record gift expiries."""
        pace = pace or PollPace(idle_seconds=poll_seconds)
        stop = False
        next_retry = next_expiry = next_digest = 0.0

        def request_stop(*_: Any) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, request_stop)
        log.info("worker reading %s", self.stream_arn)
        while not stop:
            try:
                if time.monotonic() >= next_retry:
                    next_retry = time.monotonic() + retry_seconds
                    self.retry_waiting()
                if time.monotonic() >= next_expiry:
                    next_expiry = time.monotonic() + expire_seconds
                    self.record_gift_expiries()
                if time.monotonic() >= next_digest:
                    next_digest = time.monotonic() + digest_seconds
                    self.send_overdue_digest()
                pause = pace.after(self.poll_once())
                if self.failures:  # a record waits for another try
                    pause = max(pause, FAILED_RECORD_PAUSE_SECONDS)
                if pause:
                    sleep(pause)
            except KeyboardInterrupt:
                break
            except Exception:  # DynamoDB Local restarting, a shard closing: log and poll again
                log.exception("stream poll failed; retrying")
                self.iterators.clear()
                self.shard_list = None
                sleep(pace.idle_seconds)


def main(argv: list[str]) -> int:
    """`formloop worker`: deliver until stopped (`formloop run` starts one)."""
    parser = argparse.ArgumentParser(prog="formloop worker",
                                     description="The local delivery worker: reads DynamoDB Local's stream.")
    parser.add_argument("--checkpoint", type=Path, default=PROJECT_ROOT / ".local" / "worker-checkpoint.json")
    parser.add_argument("--poll-seconds", type=float, default=IDLE_POLL_SECONDS,
                        help="the pause between reads of a quiet stream")
    parser.add_argument("--busy-poll-seconds", type=float, default=BUSY_POLL_SECONDS,
                        help="the pause between reads in the second after records were read")
    parser.add_argument("--busy-for-seconds", type=float, default=BUSY_FOR_SECONDS,
                        help="how long after records the busy pause holds (then doubling up to --poll-seconds)")
    parser.add_argument("--retry-seconds", type=float, default=30.0,
                        help="how often emails waiting for a later round are given one (every 5 minutes in AWS)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="worker: %(levelname)s %(message)s")
    from chalicelib.core.config import Settings
    from chalicelib.wiring import build_services
    services = build_services(Settings.from_environ(os.environ))
    try:
        pace = PollPace(args.busy_poll_seconds, args.poll_seconds, args.busy_for_seconds)
        StreamWorker(services, args.checkpoint).run(args.poll_seconds, args.retry_seconds, pace=pace)
    except KeyboardInterrupt:
        pass
    return 0

