"""Raw landing and publish on the file engines keep PostgreSQL's guarantees (a real DuckDB file; Spark's
loader mostly in test_engines_sameness, where its session is paid once; here one Spark load with the
window end an Airflow task hands over). Cost: ~3 s for DuckDB, Spark's session start on top.

- extracted = loaded + rejected + duplicates + unchanged, each reject kept with its reason;
- a load that fails lands nothing: no raw row, no watermark, a failed load log row;
- the watermark never passes the window's end;
- publish points the contract views at a built generation only, in one transaction.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from baton.build.publish import PublishRefused
from baton.engines import engine_for, engine_kind, url_from_connection
from baton.engines.base import Generation
from baton.load.loader import RecordShape

SHAPE = RecordShape(id="Id", updated_at="SystemModstamp")
RECORDS = [
    {"Id": "a", "SystemModstamp": "2026-03-01T10:00:00.000+0000", "Email": "a@x.io"},
    {"Id": "b", "SystemModstamp": "2026-03-01T11:00:00Z", "Note": "tab\there, quote ' and \\ backslash"},
    {"Id": "a", "SystemModstamp": "2026-03-01T12:00:00Z", "Email": "a2@x.io"},
    {"SystemModstamp": "2026-03-01T12:00:00Z"},
    "not a record",
    {"Id": "c", "SystemModstamp": "yesterday"},
]


@pytest.fixture
def duckdb_engine(tmp_path):
    return engine_for(f"duckdb://{tmp_path}/warehouse.duckdb")


def test_engine_is_chosen_by_the_url_and_the_connection():
    from baton.connections import parse_json

    assert engine_kind("postgresql://u@h/db") == "postgres"
    assert engine_kind("duckdb:///srv/w.duckdb") == "duckdb" and engine_kind("spark:///srv/lake") == "spark"
    with pytest.raises(ValueError):
        engine_kind("mysql://h/db")
    connection = parse_json("warehouse_default", '{"conn_type": "duckdb", "host": "/srv/w.duckdb"}')
    assert url_from_connection(connection) == "duckdb:///srv/w.duckdb"
    with pytest.raises(ValueError):
        engine_for("duckdb://relative/path.duckdb")
    from baton.warehouse import dbt_env

    assert dbt_env("postgresql://u@h:5433/db")["BATON_DBT_TARGET"] == "warehouse"
    assert dbt_env("postgresql://u@h:5433/db")["BATON_WAREHOUSE_PORT"] == "5433"
    assert dbt_env("duckdb:///srv/w.duckdb") == {"BATON_DBT_TARGET": "duckdb", "BATON_DUCKDB_PATH": "/srv/w.duckdb"}
    assert dbt_env("spark:///srv/lake") == {"BATON_DBT_TARGET": "spark", "BATON_SPARK_LOCATION": "/srv/lake"}


def test_duckdb_load_counts_every_record_and_keeps_rejects_with_their_reason(duckdb_engine):
    with duckdb_engine.stream_loader("salesforce", "lead", SHAPE) as loader:
        loader.write_many(RECORDS)
        first = loader.commit()
    assert (first.extracted, first.loaded, first.rejected, first.duplicates) == (6, 2, 3, 1)
    with duckdb_engine.stream_loader("salesforce", "lead", SHAPE) as loader:
        loader.write_many(RECORDS[:3] + [{"Id": "b", "SystemModstamp": "2026-03-02T09:00:00Z"}])
        second = loader.commit()
    assert second.extracted == second.loaded + second.rejected + second.duplicates + second.unchanged
    assert (second.loaded, second.unchanged, second.duplicates) == (1, 1, 2)
    with duckdb_engine.connect() as conn:
        rows = dict(conn.execute("select id, data::varchar from raw_salesforce.lead").fetchall())
        reasons = sorted(r[0].split(":")[0] for r in conn.execute("select reason from baton_meta.rejected_records").fetchall())
        watermark = conn.execute("select watermark from baton_meta.sync_state").fetchone()[0]
    assert set(rows) == {"a", "b"} and '"a2@x.io"' in rows["a"]
    assert reasons == ["no id", "not an object", "unparsable timestamp"]
    assert watermark == datetime(2026, 3, 2, 9, tzinfo=timezone.utc)


def test_duckdb_failed_load_lands_nothing_and_keeps_the_watermark(duckdb_engine):
    with duckdb_engine.stream_loader("salesforce", "lead", SHAPE) as loader:
        loader.write_many(RECORDS[:1])
        loader.commit()

    def boom(conn, result):
        raise RuntimeError("the stream's after-load step failed")

    with pytest.raises(RuntimeError):
        with duckdb_engine.stream_loader("salesforce", "lead", SHAPE) as loader:
            loader.write_many([{"Id": "z", "SystemModstamp": "2026-04-01T00:00:00Z"}])
            loader.commit(also=boom)
    with duckdb_engine.connect() as conn:
        assert [r[0] for r in conn.execute("select id from raw_salesforce.lead").fetchall()] == ["a"]
        assert conn.execute("select watermark from baton_meta.sync_state").fetchone()[0] == \
            datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
        assert sorted(r[0] for r in conn.execute("select status from baton_meta.load_log").fetchall()) == \
            ["failed", "success"]


def test_duckdb_watermark_stops_at_the_window_end(duckdb_engine):
    end = datetime(2026, 3, 1, 11, tzinfo=timezone.utc)
    with duckdb_engine.stream_loader("salesforce", "lead", SHAPE, window_end=end) as loader:
        loader.write_many(RECORDS[:3])
        result = loader.commit()
    assert result.beyond_end == 1 and result.watermark == end


def test_duckdb_publish_swaps_only_a_built_generation(duckdb_engine):
    with pytest.raises(PublishRefused):
        duckdb_engine.publish()
    prepared = duckdb_engine.prepare_shadow()
    colour = prepared["suffix"]
    with duckdb_engine.connect() as conn:
        conn.execute(f"create schema marts{colour}")
        conn.execute(f"create table marts{colour}.fct_handoffs as select 1 as handoff_id")
    duckdb_engine.mark_built(as_of="2026-11-01T00:00:00Z")
    published = duckdb_engine.publish()
    assert published["colour"] == colour
    with duckdb_engine.connect() as conn:
        assert conn.execute("select handoff_id from marts.fct_handoffs").fetchall() == [(1,)]
        assert duckdb_engine.generations(conn)[colour] == Generation(colour, "published", published["build_id"],
                                                                      "2026-11-01T00:00:00Z")
    # The next build goes to the other colour; readers keep this one until it is published.
    assert duckdb_engine.prepare_shadow()["suffix"] != colour
    with pytest.raises(PublishRefused):
        duckdb_engine.publish()


def test_spark_load_takes_the_window_end_airflow_hands_a_task(tmp_path):
    """An extract task's window end is Airflow's pendulum DateTime, which PySpark refuses for a TIMESTAMP
    column as it is: the load (its load log and watermark rows) must land anyway."""
    import shutil

    import pendulum

    if shutil.which("java") is None:
        pytest.skip("no Java runtime (make install brings openjdk-17-jre-headless)")
    from baton.engines.spark import stop_session

    engine = engine_for(f"spark://{tmp_path}/lake")
    end = pendulum.datetime(2026, 3, 1, 11, tz="UTC")
    try:
        with engine.stream_loader("salesforce", "lead", SHAPE, window_end=end) as loader:
            loader.write_many(RECORDS[:3])
            result = loader.commit()
        with engine.connect() as conn:
            watermark = conn.execute("select watermark from baton_meta.sync_state").fetchone()[0]
            logged = conn.execute("select status, window_end from baton_meta.load_log").fetchall()
    finally:
        stop_session()
    assert (result.loaded, result.beyond_end) == (2, 1)
    assert watermark == datetime(2026, 3, 1, 11, tzinfo=timezone.utc)
    assert logged == [("success", datetime(2026, 3, 1, 11, tzinfo=timezone.utc))]
