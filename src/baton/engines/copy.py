"""Land a PostgreSQL warehouse's raw records on another engine, through that engine's loader.

    copy_raw("postgresql://.../baton", "duckdb:///abs/warehouse.duckdb")

Every raw row goes through the engine's StreamLoader twin as a record (id, data, source timestamp,
delete flag as PostgreSQL holds them), so the engine applies the loader's rules and counts exactly
as a load from the vendor would. What the sameness test and `baton bench engines` use to give every
engine the same records; also a way to move a warehouse's raw history to another engine.
"""

from __future__ import annotations


class _Row(dict):
    """A raw row handed to the loader as a record (a dict, as the vendor clients yield)."""


def _records(cursor):
    for row in cursor:
        record = _Row()
        record.update({0: row[0], 1: row[1], 2: row[2], 3: row[3]})
        yield record


def copy_raw(postgres_url: str, engine_url: str) -> dict[str, int]:
    """Every raw table of the registered sources, PostgreSQL → engine; rows landed per source.stream.
    Raises when a table does not land whole (a reject, a count that differs)."""
    import psycopg

    from baton.engines import engine_for
    from baton.load.loader import RecordShape
    from baton.sources.registry import sources

    engine = engine_for(engine_url)
    landed = {}
    with psycopg.connect(postgres_url) as conn:
        for source in sources().values():
            for stream in source.stream_names:
                table = f'"raw_{source.name}"."{stream}"'
                if conn.execute("select to_regclass(%s) is null", (table,)).fetchone()[0]:
                    continue
                stamped, rows = conn.execute(
                    f"select count(source_updated_at) > 0, count(*) from {table}").fetchone()
                shape = RecordShape(id=lambda r: r[0], updated_at=(lambda r: r[2].isoformat()) if stamped else None,
                                    deleted=lambda r: r[3], clean=lambda r: r[1])
                with conn.cursor(name=f"copy_{source.name}_{stream}") as cursor:
                    cursor.itersize = 5_000
                    cursor.execute(f"select id, data, source_updated_at, is_deleted from {table}")
                    with engine.stream_loader(source.name, stream, shape) as loader:
                        loader.write_many(_records(cursor))
                        result = loader.commit()
                if result.rejected or result.extracted != rows:
                    raise RuntimeError(f"{source.name}.{stream}: {rows} rows, landed {result.loaded},"
                                       f" rejected {result.rejected} ({result.reasons})")
                landed[f"{source.name}.{stream}"] = result.loaded + result.unchanged
    return landed
