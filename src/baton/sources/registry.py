"""The registry of sources: the one list of the sources Baton extracts.

Every other list of sources or streams (the extract DAGs, the transform DAG's Assets, the
nightly DAG, `baton extract`, the raw tables created before a build, the run summary) derives
from here. A source is a module under baton.sources that declares `SOURCE` (baton.sources.base.Source);
adding one is adding its module to SOURCE_MODULES.
"""

from __future__ import annotations

import importlib
from functools import cache

from baton.sources.base import Source, Stream

SOURCE_MODULES = ("baton.sources.salesforce", "baton.sources.marketo", "baton.sources.hubspot")


@cache
def sources() -> dict[str, Source]:
    """Every registered source by name, in registry order."""
    declared = [importlib.import_module(module).SOURCE for module in SOURCE_MODULES]
    return {source.name: source for source in declared}


def source_names() -> tuple[str, ...]:
    return tuple(sources())


def get_source(name: str) -> Source:
    try:
        return sources()[name]
    except KeyError:
        raise ValueError(f"unknown source {name!r} (one of {', '.join(sources())})") from None


def streams_of(name: str) -> tuple[Stream, ...]:
    return get_source(name).streams


def raw_streams() -> dict[str, tuple[str, ...]]:
    """Raw schema → the stream (table) names the loader writes there."""
    return {source.raw_schema: source.stream_names for source in sources().values()}
