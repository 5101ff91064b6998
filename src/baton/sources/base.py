"""What every stream declaration shares: its name, keys, the loader's view of its records,
and the window a run extracts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from baton.instants import epoch_ms, iso_z, utc  # noqa: F401  (the sources import them from here)
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


class PrerequisiteFailed(RuntimeError):
    """A stream that reads what another stream landed refuses to run after that stream failed."""


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

    def before_run(self, source: str, window: Window, failed: dict[str, str]) -> None:
        """Raise PrerequisiteFailed when a stream this one depends on failed (`failed`: this run's
        failures so far, stream → error)."""

    def after_load(self, conn, result, window: Window) -> None:
        """Runs inside the load's transaction (e.g. flag rows of another stream as deleted)."""


@dataclass(frozen=True)
class Source:
    """A source declaration: what the registry, the DAGs, the loader and the CLI know of a source.

    `stages` orders the streams for a DAG (each stage after the one before); by default every
    stream runs in one stage. The raw schema is `raw_<name>`; its Airflow Asset is the schema's URI.
    """

    name: str
    connection_id: str
    streams: tuple[Stream, ...]
    client_from_connection: Callable[..., object]
    stages: tuple[tuple[str, ...], ...] = ()

    @property
    def raw_schema(self) -> str:
        return f"raw_{self.name}"

    @property
    def asset_uri(self) -> str:
        # The postgres provider's rule: host:port/database/schema/table; the Asset is the whole raw schema.
        return f"postgres://warehouse:5432/baton/{self.raw_schema}/all_streams"

    @property
    def stream_names(self) -> tuple[str, ...]:
        return tuple(stream.name for stream in self.streams)

    def stream_stages(self) -> tuple[tuple[str, ...], ...]:
        return self.stages or (self.stream_names,)
