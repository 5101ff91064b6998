"""What every stream declaration shares: its name, keys, the loader's view of its records,
and the window a run extracts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from baton.load.loader import RecordShape


@dataclass
class Window:
    """One run of one stream: records changed at or after `since` and at or before `end`.

    `since` is the stream's watermark (inclusive: records sharing its timestamp are read again
    and the upsert by id makes that harmless), or the backfill start on a first run.
    """

    since: datetime
    end: datetime
    first_run: bool
    warehouse_url: str | None = None
    notes: dict = field(default_factory=dict)  # what a stream tells the runner (e.g. lead ids it saw)


@dataclass(frozen=True)
class Stream:
    """A stream declaration. `records(client, window)` yields the API's records as dicts."""

    name: str
    primary_key: str
    replication_key: str | None
    # Entities (leads, accounts, users...) land whole on a first run, whatever the start date:
    # the start date bounds only event streams (activities, tasks, history).
    full_backfill: bool = False

    @property
    def shape(self) -> RecordShape:
        return RecordShape(id=self.primary_key, updated_at=self.replication_key)

    def records(self, client, window: Window) -> Iterator[dict]:
        raise NotImplementedError

    def after_load(self, conn, result, window: Window) -> None:
        """Runs inside the load's transaction (e.g. flag rows of another stream as deleted)."""


def utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        return instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(timezone.utc)


def iso_z(instant: datetime, *, millis: bool = False) -> str:
    instant = utc(instant)
    if millis:
        return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(instant: datetime) -> int:
    return int(utc(instant).timestamp() * 1000)
