"""The loader against a real PostgreSQL: upsert by id, one transaction, rejects, watermark, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone

import psycopg
import pytest

from baton.load.loader import RecordShape, StreamLoader, load_records, read_sync_state

SHAPE = RecordShape(id="Id", updated_at="SystemModstamp", deleted=lambda r: r.get("IsDeleted") is True,
                    clean=lambda r: {k: v for k, v in r.items() if k != "attributes"})


def lead(i: int, stamp: str = "2026-05-03T14:02:11.000+0000", **fields) -> dict:
    record = {"attributes": {"type": "Lead"}, "Id": f"00Q{i:015d}", "Email": f"p{i}@example.com",
              "SystemModstamp": stamp, "IsDeleted": False}
    record.update(fields)
    return record


def rows(url: str, table: str = "raw_salesforce.lead") -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        return {r[0]: r[1:] for r in conn.execute(
            f"select id, data, source_updated_at, is_deleted, _load_id from {table}")}


def test_upsert_keeps_one_row_per_id_and_rewrites_only_changed_rows(fresh_warehouse):
    first = load_records(fresh_warehouse, "salesforce", "lead", [lead(i) for i in range(10)], SHAPE)
    assert (first.extracted, first.loaded, first.rejected, first.changed) == (10, 10, 0, 10)
    changed = [lead(3, "2026-05-04T00:00:00.000+0000", Email="new@example.com"),
               lead(4, "2026-05-04T00:00:00.000+0000", IsDeleted=True)]
    second = load_records(fresh_warehouse, "salesforce", "lead", [lead(i) for i in range(10) if i not in (3, 4)]
                          + changed, SHAPE)
    assert second.changed == 2
    stored = rows(fresh_warehouse)
    assert len(stored) == 10
    assert stored["00Q000000000000003"][0]["Email"] == "new@example.com"
    assert stored["00Q000000000000004"][2] is True
    assert "attributes" not in stored["00Q000000000000000"][0]
    # Untouched rows keep the load that wrote them.
    assert stored["00Q000000000000000"][3] == first.load_id
    assert stored["00Q000000000000003"][3] == second.load_id


def test_rerun_of_the_same_records_changes_nothing(fresh_warehouse):
    records = [lead(i) for i in range(20)]
    load_records(fresh_warehouse, "salesforce", "lead", records, SHAPE)
    before = rows(fresh_warehouse)
    again = load_records(fresh_warehouse, "salesforce", "lead", records, SHAPE)
    assert again.changed == 0
    assert rows(fresh_warehouse) == before


def test_a_new_field_lands_without_ddl(fresh_warehouse):
    load_records(fresh_warehouse, "salesforce", "lead", [lead(1)], SHAPE)
    load_records(fresh_warehouse, "salesforce", "lead", [lead(1, "2026-05-05T00:00:00.000+0000",
                                                             Brand_New_Field__c="hello")], SHAPE)
    assert rows(fresh_warehouse)["00Q000000000000001"][0]["Brand_New_Field__c"] == "hello"


def test_the_same_id_twice_in_one_run_keeps_the_last_read(fresh_warehouse):
    result = load_records(fresh_warehouse, "salesforce", "lead",
                          [lead(1, Email="old@x.com"), lead(2), lead(1, Email="last@x.com")], SHAPE)
    assert (result.extracted, result.loaded, result.duplicates, result.unchanged) == (3, 2, 1, 0)
    assert rows(fresh_warehouse)["00Q000000000000001"][0]["Email"] == "last@x.com"


def test_an_older_version_never_overwrites_a_newer_one(fresh_warehouse):
    load_records(fresh_warehouse, "salesforce", "lead", [lead(1, "2026-06-01T00:00:00.000+0000", Email="new@x.com")],
                 SHAPE)
    stale = load_records(fresh_warehouse, "salesforce", "lead",
                         [lead(1, "2026-05-01T00:00:00.000+0000", Email="old@x.com")], SHAPE)
    assert stale.changed == 0
    assert rows(fresh_warehouse)["00Q000000000000001"][0]["Email"] == "new@x.com"


def test_watermark_is_the_latest_loaded_timestamp_and_never_moves_back(fresh_warehouse):
    load_records(fresh_warehouse, "salesforce", "lead", [lead(1, "2026-05-03T10:00:00.000+0000"),
                                                         lead(2, "2026-05-04T10:00:00.500+0000")], SHAPE)
    watermark, _ = read_sync_state(fresh_warehouse, "salesforce", "lead")
    assert watermark == datetime(2026, 5, 4, 10, 0, 0, 500000, tzinfo=timezone.utc)
    load_records(fresh_warehouse, "salesforce", "lead", [lead(3, "2026-05-01T00:00:00.000+0000")], SHAPE)
    assert read_sync_state(fresh_warehouse, "salesforce", "lead")[0] == watermark


MALFORMED = [
    ("not an object", ["a", "list"]),
    ("not an object", "a string"),
    ("not an object", 42),
    ("no id", {"SystemModstamp": "2026-05-03T14:02:11.000+0000", "Email": "noid@x.com"}),
    ("no id", {"Id": "", "SystemModstamp": "2026-05-03T14:02:11.000+0000"}),
    ("no id", {"Id": None, "SystemModstamp": "2026-05-03T14:02:11.000+0000"}),
    ("unparsable timestamp", {"Id": "00Qbad1", "SystemModstamp": "yesterday"}),
    ("unparsable timestamp", {"Id": "00Qbad2", "SystemModstamp": "2026-13-45T99:00:00Z"}),
    ("unparsable timestamp", {"Id": "00Qbad3", "SystemModstamp": {"nested": True}}),
    ("no replication timestamp", {"Id": "00Qbad4"}),
    ("contains a \\u0000 character, which PostgreSQL jsonb refuses",
     {"Id": "00Qbad5", "SystemModstamp": "2026-05-03T14:02:11.000+0000", "Email": "a\x00b"}),
    ("id contains a NUL character, which PostgreSQL text refuses",
     {"Id": "00Q\x00bad6", "SystemModstamp": "2026-05-03T14:02:11.000+0000"}),
    ("an integer beyond 64 bits, which Baton does not round to a float",
     {"Id": "00Qbad7", "SystemModstamp": "2026-05-03T14:02:11.000+0000", "Big": 2 ** 80}),
]


def test_malformed_records_land_in_rejects_with_their_reason_and_the_rest_loads(fresh_warehouse):
    good = [lead(i) for i in range(5)]
    records = good[:2] + [record for _, record in MALFORMED] + good[2:]
    # A literal backslash before "u0000" is text, not a NUL: it must load.
    records.append(lead(99, Note="C:\\u0000dir"))
    result = load_records(fresh_warehouse, "salesforce", "lead", records, SHAPE)
    assert result.extracted == len(records)
    assert result.rejected == len(MALFORMED)
    assert result.loaded == 6
    assert result.extracted == result.loaded + result.rejected
    with psycopg.connect(fresh_warehouse) as conn:
        rejects = conn.execute("select source, stream, record_id, reason, payload from baton_meta.rejected_records"
                               " where load_id = %s order by rejected_at", (result.load_id,)).fetchall()
        logged = conn.execute("select extracted, loaded, rejected, status from baton_meta.load_log"
                              " where load_id = %s", (result.load_id,)).fetchone()
    assert logged == (len(records), 6, len(MALFORMED), "success")
    assert [r[3].split(":")[0] for r in rejects] == [expected for expected, _ in MALFORMED]
    assert all(r[0] == "salesforce" and r[1] == "lead" and r[4] for r in rejects)
    assert any(r[2] == "00Qbad1" and "yesterday" in r[4] for r in rejects)
    assert rows(fresh_warehouse)["00Q000000000000099"][0]["Note"] == "C:\\u0000dir"


class _BrokenTimestampLoader(StreamLoader):
    """Writes one record's timestamp in a form only the database notices is wrong."""

    def _encode(self, record):
        line = super()._encode(record)
        if record.get("Poison"):
            line = line.replace(b"2026-05-03T14:02:11.000+0000", b"2026-02-30T99:99:99.000+0000")
        return line


def test_a_record_the_database_refuses_is_rejected_alone_and_the_chunk_still_lands(fresh_warehouse):
    with _BrokenTimestampLoader(fresh_warehouse, "salesforce", "lead", SHAPE) as loader:
        loader.write_many([lead(1), lead(2, Poison=True), lead(3)])
        result = loader.commit()
    assert (result.loaded, result.rejected) == (2, 1)
    assert set(rows(fresh_warehouse)) == {"00Q000000000000001", "00Q000000000000003"}
    with psycopg.connect(fresh_warehouse) as conn:
        reason = conn.execute("select reason from baton_meta.rejected_records").fetchone()[0]
    assert reason.startswith("refused by PostgreSQL")


def test_a_failed_load_rolls_back_rows_and_watermark_and_logs_the_failure(fresh_warehouse):
    load_records(fresh_warehouse, "salesforce", "lead", [lead(1)], SHAPE)
    before = rows(fresh_warehouse), read_sync_state(fresh_warehouse, "salesforce", "lead")

    def failing():
        yield lead(2, "2026-07-01T00:00:00.000+0000")
        raise ConnectionError("API went away")

    with pytest.raises(ConnectionError):
        with StreamLoader(fresh_warehouse, "salesforce", "lead", SHAPE) as loader:
            loader.write_many(failing())
            loader.commit()
    assert (rows(fresh_warehouse), read_sync_state(fresh_warehouse, "salesforce", "lead")) == before
    with psycopg.connect(fresh_warehouse) as conn:
        status = conn.execute("select status, error from baton_meta.load_log where load_id = %s",
                              (loader.result.load_id,)).fetchone()
    assert status[0] == "failed" and "API went away" in status[1]


_KILLED_CHILD = textwrap.dedent("""
    import sys, time
    from baton.load.loader import StreamLoader, RecordShape
    shape = RecordShape(id="Id", updated_at="SystemModstamp")
    with StreamLoader(sys.argv[1], "salesforce", "lead", shape) as loader:
        for i in range(1_000_000):
            loader.write({"Id": f"k{i}", "SystemModstamp": "2026-09-01T00:00:00Z", "Email": f"k{i}@x.com"})
            if i == 30_000:
                print("staged", flush=True)
                time.sleep(60)
        loader.commit()
""")


def test_sigkill_mid_load_leaves_raw_tables_as_they_were_and_the_next_run_completes(fresh_warehouse):
    load_records(fresh_warehouse, "salesforce", "lead", [lead(i) for i in range(3)], SHAPE)
    before = rows(fresh_warehouse), read_sync_state(fresh_warehouse, "salesforce", "lead")
    child = subprocess.Popen([sys.executable, "-c", _KILLED_CHILD, fresh_warehouse], stdout=subprocess.PIPE,
                             text=True, env={**os.environ})
    try:
        assert child.stdout.readline().strip() == "staged"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    # The server notices the dead session and drops its staging table with its transaction.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with psycopg.connect(fresh_warehouse) as conn:
            alive = conn.execute("select count(*) from pg_stat_activity where datname = current_database()"
                                 " and pid <> pg_backend_pid()").fetchone()[0]
        if not alive:
            break
        time.sleep(0.1)
    assert (rows(fresh_warehouse), read_sync_state(fresh_warehouse, "salesforce", "lead")) == before
    with psycopg.connect(fresh_warehouse) as conn:  # the killed load left its `started` row
        assert conn.execute("select count(*) from baton_meta.load_log where status = 'started'").fetchone()[0] == 1
    rerun = load_records(fresh_warehouse, "salesforce", "lead",
                         [{"Id": f"k{i}", "SystemModstamp": "2026-09-01T00:00:00Z"} for i in range(30_001)], SHAPE)
    assert rerun.loaded == 30_001
    assert any("interrupted load" in warning for warning in rerun.warnings)
    with psycopg.connect(fresh_warehouse) as conn:  # ... which the next load closed as failed, with a reason
        closed = conn.execute("select status, error, finished_at from baton_meta.load_log"
                              " where load_id <> %s and status <> 'success'", (rerun.load_id,)).fetchall()
    assert len(closed) == 1 and closed[0][0] == "failed" and closed[0][1].startswith("interrupted") and closed[0][2]
    assert len(rows(fresh_warehouse)) == 3 + 30_001
