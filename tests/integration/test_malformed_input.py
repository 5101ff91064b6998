"""The malformed-input corpus: every bad record lands in the rejects with its reason, the rest of
its page lands, and one bad stream never stops the others.

Through the extractors, the sandbox serves real pages with crafted raw records spliced in
(`SandboxServer.tamper`, `splice_raw_records`); through the loader, the records are handed to it
directly. The corpus itself is `EXTRACT_CORPUS` / `LOADER_CORPUS` below: (case, the raw element
or record, where it must go).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from baton.load.loader import RecordShape, StreamBusy, StreamLoader, load_records, read_sync_state
from baton.sources.api import RetryPolicy
from baton.sources.runner import SourceRunError, run_source
from baton_sandbox.server import Reply, splice_raw_records
from baton_sandbox.testing import TINY
from tests.integration.test_extract_sandbox import EARLY_START, FAST, WORLD_END, connection

UTC = timezone.utc
STAMP = b'"SystemModstamp":"2026-05-01T00:00:00.000+0000","IsDeleted":false'
QUERY_PATH = "/services/data/v60.0/queryAll"
LANDED = "landed"

# (case, raw array element as the vendor sent it, expected: LANDED or the start of the reject reason)
EXTRACT_CORPUS = [
    ("good control record", b'{"Id":"00Qcorpus00000good",' + STAMP + b',"LastName":"Fine"}', LANDED),
    ("lone surrogate in a field", b'{"Id":"00Qcorpus0000surr1",' + STAMP + b',"LastName":"\\ud800x"}',
     "unreadable record: a string with a lone surrogate"),
    ("lone surrogate in the id", b'{"Id":"00Qcorpus\\udc00surr2",' + STAMP + b'}',
     "unreadable record: a string with a lone surrogate"),
    ("NaN", b'{"Id":"00Qcorpus00000nan1",' + STAMP + b',"AnnualRevenue":NaN}', "unreadable record: NaN or infinity"),
    ("-Infinity", b'{"Id":"00Qcorpus00000inf1",' + STAMP + b',"AnnualRevenue":-Infinity}',
     "unreadable record: NaN or infinity"),
    ("number overflowing a double", b'{"Id":"00Qcorpus00000inf2",' + STAMP + b',"AnnualRevenue":1e400}',
     "unreadable record: NaN or infinity"),
    ("invalid UTF-8 byte", b'{"Id":"00Qcorpus00000utf8",' + STAMP + b',"LastName":"M\xfcller"}',
     "unreadable record: invalid UTF-8"),
    ("raw NUL byte in a string", b'{"Id":"00Qcorpus000rawnul",' + STAMP + b',"LastName":"a\x00b"}',
     "unreadable record: a raw control character"),
    ("escaped NUL in a string", b'{"Id":"00Qcorpus000escnul",' + STAMP + b',"LastName":"a\\u0000b"}',
     "contains a \\u0000 character"),
    ("nested 5,000 levels deep", b'{"Id":"00Qcorpus00000deep",' + STAMP + b',"Deep":' + b"[" * 5000 + b"]" * 5000
     + b"}", "unreadable record: nested too deeply"),
    ("30-digit integer id", b'{"Id":123456789012345678901234567890,' + STAMP + b'}',
     "unreadable record: an integer beyond 64 bits"),
    ("30-digit integer in data", b'{"Id":"00Qcorpus00000big1",' + STAMP + b',"Score":123456789012345678901234567890}',
     "unreadable record: an integer beyond 64 bits"),
    ("largest signed 64-bit integer (exact)", b'{"Id":"00Qcorpus00000i64m",' + STAMP
     + b',"Score":9223372036854775807}', LANDED),
    ("timestamp past 9999 in UTC", b'{"Id":"00Qcorpus00009999","SystemModstamp":"9999-12-31T23:30:00-01:00"}',
     "unparsable timestamp"),
    ("not an object", b"42", "not an object"),
    ("no id", b'{' + STAMP + b',"LastName":"Nobody"}', "no id"),
]


def _rejects(url: str, load_id: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select record_id, reason, payload from baton_meta.rejected_records where load_id = %s",
                            (load_id,)).fetchall()


def _ids(url: str, table: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute(f"select id from {table}")}


def test_each_malformed_record_on_a_page_is_rejected_with_its_reason_and_the_rest_of_the_page_lands(
        sandbox_server_factory, tiny_world, fresh_warehouse):
    server = sandbox_server_factory(world=tiny_world)
    server.set_clock(WORLD_END)
    server.tamper(QUERY_PATH, splice_raw_records("records", [raw for _, raw, _ in EXTRACT_CORPUS], at=3), times=1)
    result = run_source("salesforce", connection("salesforce", server), fresh_warehouse, EARLY_START, WORLD_END,
                        streams=["lead"], policy=FAST)[0]
    world_leads = TINY.leads + 1
    bad = [case for case in EXTRACT_CORPUS if case[2] != LANDED]
    assert result.extracted == world_leads + len(EXTRACT_CORPUS)
    assert result.rejected == len(bad)
    assert result.loaded == world_leads + len(EXTRACT_CORPUS) - len(bad)
    assert result.extracted == result.loaded + result.rejected + result.duplicates + result.unchanged
    landed = _ids(fresh_warehouse, "raw_salesforce.lead")
    assert len(landed) == result.loaded
    assert {"00Qcorpus00000good", "00Qcorpus00000i64m"} <= landed
    with psycopg.connect(fresh_warehouse) as conn:
        score = conn.execute("select data ->> 'Score' from raw_salesforce.lead where id = '00Qcorpus00000i64m'"
                             ).fetchone()[0]
    assert score == "9223372036854775807"  # exact, not a float
    rejects = _rejects(fresh_warehouse, result.load_id)
    reasons = sorted(reason for _, reason, _ in rejects)
    for case, _, expected in bad:
        assert any(reason.startswith(expected) for reason in reasons), (case, reasons)
    assert all(payload for _, _, payload in rejects)
    # The id of an unreadable record is read from its raw text where it can be.
    assert "00Qcorpus00000nan1" in {record_id for record_id, _, _ in rejects}


def test_a_page_of_bad_records_is_not_retried_eight_times(sandbox_server_factory, tiny_world, fresh_warehouse):
    server = sandbox_server_factory(world=tiny_world)
    server.set_clock(WORLD_END)
    server.tamper(QUERY_PATH, splice_raw_records("records", [EXTRACT_CORPUS[3][1]]))  # every page, every run
    before = server.stats()["requests"]
    result = run_source("salesforce", connection("salesforce", server), fresh_warehouse, EARLY_START, WORLD_END,
                        streams=["lead"], policy=FAST)[0]
    pages = server.stats()["tampered"]
    assert pages >= 1 and result.rejected == pages  # the NaN record on each page, each page read once
    assert server.stats()["requests"] - before <= pages + 4  # token, describe..., each page once: no retries


@pytest.mark.parametrize("body", [b"", b"[]", b"null", b'"text"'], ids=["empty", "empty-array", "null", "string"])
def test_an_answer_of_the_wrong_shape_fails_only_its_stream_with_a_clear_message(
        body, sandbox_server_factory, tiny_world, fresh_warehouse):
    server = sandbox_server_factory(world=tiny_world)
    server.set_clock(WORLD_END)
    server.tamper("/rest/asset/v1/programs.json", Reply(200, body))
    quick = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.05, retry_after_cap=0.05, timeout=5)
    with pytest.raises(SourceRunError) as failed:
        run_source("marketo", connection("marketo", server), fresh_warehouse, EARLY_START, WORLD_END, policy=quick)
    assert set(failed.value.failures) == {"program"}
    assert "marketo.program" in str(failed.value)
    assert "expected a JSON object, got" in failed.value.failures["program"]
    assert "gave up after 3 attempts" in failed.value.failures["program"]
    assert {r.stream for r in failed.value.results} == {"activity_type", "activity", "lead", "deleted_lead"}
    assert _ids(fresh_warehouse, "raw_marketo.lead")


def test_lead_stream_refuses_to_run_when_the_activity_load_failed(sandbox_server_factory, tiny_world,
                                                                  fresh_warehouse):
    server = sandbox_server_factory(world=tiny_world)
    server.set_clock(WORLD_END)
    server.tamper("/rest/v1/activities.json", Reply(200, b"[]"))
    quick = RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_cap=0.05, retry_after_cap=0.05, timeout=5)
    with pytest.raises(SourceRunError) as failed:
        run_source("marketo", connection("marketo", server), fresh_warehouse, EARLY_START, WORLD_END, policy=quick)
    assert set(failed.value.failures) == {"activity", "lead"}
    assert "marketo.activity failed in this run" in failed.value.failures["lead"]
    # A later task running the lead stream alone refuses too: the latest activity load failed.
    with pytest.raises(SourceRunError) as alone:
        run_source("marketo", connection("marketo", server), fresh_warehouse, EARLY_START, WORLD_END,
                   streams=["lead"], policy=quick)
    assert "the latest marketo.activity load" in alone.value.failures["lead"]
    assert not _ids(fresh_warehouse, "raw_marketo.lead")


def test_refused_credentials_fail_fast_and_skip_the_sources_other_streams(sandbox_server_factory, tiny_world,
                                                                          fresh_warehouse):
    server = sandbox_server_factory(world=tiny_world, credentials={
        "salesforce": ("right-id", "right-secret"), "marketo": ("right-id", "right-secret"), "hubspot": "right"})
    default_policy = RetryPolicy(max_attempts=8, backoff_base=1.0)  # the production backoff
    for source in ("salesforce", "marketo", "hubspot"):
        started = time.monotonic()
        with pytest.raises(SourceRunError) as failed:
            run_source(source, connection(source, server), fresh_warehouse, EARLY_START, WORLD_END,
                       policy=default_policy)
        took = time.monotonic() - started
        assert took < 5, (source, took)
        first, *others = failed.value.failures.values()
        assert "credentials refused" in first or "freshly issued token is refused" in first, first
        assert all(reason.startswith("not run: the credentials were refused") for reason in others)


# -- through the loader directly ---------------------------------------------------------------------
SHAPE = RecordShape(id="Id", updated_at="SystemModstamp")
GOOD_STAMP = "2026-05-03T14:02:11.000+0000"

def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


LOADER_CORPUS = [
    ("lone surrogate in the id", {"Id": "00Q\ud800x", "SystemModstamp": GOOD_STAMP}, "id is not valid UTF-8"),
    ("lone surrogate in data", {"Id": "00Qsur2", "SystemModstamp": GOOD_STAMP, "Name": "a\udc80"},
     "a string with a lone surrogate"),
    ("timestamp past 9999 once in UTC", {"Id": "00Qy10k", "SystemModstamp": "9999-12-31T23:30:00-01:00"},
     "unparsable timestamp"),
    ("timestamp before year 1 once in UTC", {"Id": "00Qy0", "SystemModstamp": "0001-01-01T00:30:00+01:00"},
     "unparsable timestamp"),
    ("integer id beyond 64 bits", {"Id": 123456789012345678901234567890, "SystemModstamp": GOOD_STAMP},
     "an integer beyond 64 bits"),
    ("integer beyond 64 bits in data", {"Id": "00Qbig", "SystemModstamp": GOOD_STAMP, "Score": 2 ** 100},
     "an integer beyond 64 bits"),
    ("floating-point id", {"Id": 1.5e29, "SystemModstamp": GOOD_STAMP}, "id is a floating-point number"),
    ("NUL in the id", {"Id": "00Q\x00nul", "SystemModstamp": GOOD_STAMP}, "id contains a NUL character"),
    ("NUL in data", {"Id": "00Qnul2", "SystemModstamp": GOOD_STAMP, "Name": "a\x00b"}, "contains a \\u0000"),
    ("surrogate id and NUL payload together", {"Id": "\ud800\x00", "SystemModstamp": GOOD_STAMP, "N": "\x00\udfff"},
     "id contains a NUL character"),
    ("nested 300 levels", {"Id": "00Qdeep", "SystemModstamp": GOOD_STAMP, "D": _nested(300)},
     "nested too deeply"),
    ("64-bit integer id (exact)", {"Id": 18446744073709551615, "SystemModstamp": GOOD_STAMP}, LANDED),
]


def test_loader_corpus_rejects_each_case_with_its_reason_and_lands_the_rest(fresh_warehouse):
    good = [{"Id": f"00Qgood{i}", "SystemModstamp": GOOD_STAMP} for i in range(4)]
    records = good[:2] + [record for _, record, _ in LOADER_CORPUS] + good[2:]
    result = load_records(fresh_warehouse, "salesforce", "lead", records, SHAPE)
    bad = [case for case in LOADER_CORPUS if case[2] != LANDED]
    assert (result.extracted, result.rejected, result.loaded) == (len(records), len(bad), len(records) - len(bad))
    rejects = _rejects(fresh_warehouse, result.load_id)
    for case, _, expected in bad:
        assert any(expected in reason for _, reason, _ in rejects), (case, [r[1] for r in rejects])
    assert _ids(fresh_warehouse, "raw_salesforce.lead") == {r["Id"] for r in good} | {"18446744073709551615"}


# -- future-dated records -----------------------------------------------------------------------------
def test_a_future_dated_record_lands_without_freezing_the_stream(sandbox_server_factory, tiny_world,
                                                                 fresh_warehouse):
    server = sandbox_server_factory(world=tiny_world)
    first_end = datetime(2026, 7, 1, tzinfo=UTC)
    server.set_clock(first_end)
    future = b'{"Id":"00Qfuture000000001","SystemModstamp":"2100-01-01T00:00:00.000+0000","IsDeleted":false}'
    server.tamper(QUERY_PATH, splice_raw_records("records", [future]), times=1)
    first = run_source("salesforce", connection("salesforce", server), fresh_warehouse, EARLY_START, first_end,
                       streams=["lead"], policy=FAST)[0]
    assert first.beyond_end == 1 and first.watermark <= first_end
    assert any("after the window's end" in warning for warning in first.warnings)
    assert "00Qfuture000000001" in _ids(fresh_warehouse, "raw_salesforce.lead")
    with psycopg.connect(fresh_warehouse) as conn:
        logged = conn.execute("select beyond_end, warnings from baton_meta.load_log where load_id = %s",
                              (first.load_id,)).fetchone()
    assert logged[0] == 1 and "after the window's end" in logged[1]
    server.set_clock(WORLD_END)
    second = run_source("salesforce", connection("salesforce", server), fresh_warehouse, EARLY_START, WORLD_END,
                        streams=["lead"], policy=FAST)[0]
    assert second.loaded > 0  # the late lead (2026-10-15) and every change after July
    assert "00Q5g00000004501AA" in _ids(fresh_warehouse, "raw_salesforce.lead")


def test_a_watermark_left_in_the_future_is_repaired_with_a_warning(sandbox_server_factory, tiny_world,
                                                                    fresh_warehouse):
    server = sandbox_server_factory(world=tiny_world)
    july = datetime(2026, 7, 1, tzinfo=UTC)
    server.set_clock(july)
    run_source("salesforce", connection("salesforce", server), fresh_warehouse, EARLY_START, july,
               streams=["lead"], policy=FAST)
    with psycopg.connect(fresh_warehouse) as conn:  # what the old loader left after a 2100 record
        conn.execute("update baton_meta.sync_state set watermark = '2100-01-01Z' where stream = 'lead'")
    server.set_clock(WORLD_END)
    repaired = run_source("salesforce", connection("salesforce", server), fresh_warehouse, EARLY_START, WORLD_END,
                          streams=["lead"], policy=FAST)[0]
    assert any("is in the future" in warning for warning in repaired.warnings)
    assert repaired.loaded > 0 and repaired.watermark <= WORLD_END
    assert "00Q5g00000004501AA" in _ids(fresh_warehouse, "raw_salesforce.lead")


def test_a_future_dated_stored_version_does_not_block_a_newer_real_one(fresh_warehouse):
    now = datetime.now(UTC)
    load_records(fresh_warehouse, "salesforce", "lead",
                 [{"Id": "00Qf", "SystemModstamp": "2100-01-01T00:00:00Z", "Email": "future@x.com"}], SHAPE)
    assert read_sync_state(fresh_warehouse, "salesforce", "lead")[0] == datetime(2100, 1, 1, tzinfo=UTC)  # no end
    with StreamLoader(fresh_warehouse, "salesforce", "lead", SHAPE, window_end=now - timedelta(days=1)) as loader:
        loader.write_many([{"Id": "00Qf", "SystemModstamp": (now - timedelta(days=30)).isoformat(), "Email": "old"}])
        stale = loader.commit()
    assert (stale.loaded, stale.stale) == (0, 1)  # older than the moment the future one landed
    later = datetime.now(UTC) + timedelta(seconds=1)
    with StreamLoader(fresh_warehouse, "salesforce", "lead", SHAPE, window_end=later) as loader:
        loader.write_many([{"Id": "00Qf", "SystemModstamp": later.isoformat(), "Email": "real@x.com"}])
        real = loader.commit()
    assert real.loaded == 1
    with psycopg.connect(fresh_warehouse) as conn:
        assert conn.execute("select data ->> 'Email' from raw_salesforce.lead").fetchone()[0] == "real@x.com"


# -- counts, locks, times --------------------------------------------------------------------------
def _equation_violations(url: str) -> int:
    import json
    from pathlib import Path

    suite = json.loads((Path(__file__).parents[2] / "expectations" / "baton_meta.load_log.json").read_text())
    query = suite["expectations"][0]["kwargs"]["unexpected_rows_query"].replace("{batch}", "baton_meta.load_log")
    with psycopg.connect(url) as conn:
        return len(conn.execute(query).fetchall())


def test_counts_are_exact_and_the_load_log_equation_can_fail(fresh_warehouse):
    def lead(i, stamp="2026-05-03T00:00:00Z", **fields):
        return {"Id": f"L{i}", "SystemModstamp": stamp, **fields}

    first = load_records(fresh_warehouse, "salesforce", "lead", [lead(i) for i in range(16)] + [lead(3)], SHAPE)
    assert (first.extracted, first.loaded, first.duplicates, first.unchanged) == (17, 16, 1, 0)
    second = load_records(fresh_warehouse, "salesforce", "lead", [
        lead(1), lead(2, "2026-05-04T00:00:00Z", Email="new"), lead(2, "2026-05-05T00:00:00Z", Email="newer"),
        lead(4, "2026-05-01T00:00:00Z", Email="stale"), lead(99), {"no": "id"}], SHAPE)
    assert (second.extracted, second.loaded, second.rejected, second.duplicates, second.unchanged, second.stale) == (
        6, 2, 1, 1, 2, 1)
    with psycopg.connect(fresh_warehouse) as conn:
        written = conn.execute("select count(*) from raw_salesforce.lead where _load_id = %s",
                               (second.load_id,)).fetchone()[0]
    assert written == second.loaded
    assert _equation_violations(fresh_warehouse) == 0
    with psycopg.connect(fresh_warehouse) as conn:  # the old count: loaded = extracted - rejected
        conn.execute("update baton_meta.load_log set loaded = extracted - rejected where load_id = %s",
                     (first.load_id,))
    assert _equation_violations(fresh_warehouse) == 1


def test_two_loads_of_one_stream_never_overlap(fresh_warehouse):
    with StreamLoader(fresh_warehouse, "salesforce", "lead", SHAPE) as holder:
        started = time.monotonic()
        with pytest.raises(StreamBusy, match=r"another run holds salesforce\.lead since "):
            with StreamLoader(fresh_warehouse, "salesforce", "lead", SHAPE, lock_wait=0.3):
                pass
        assert 0.3 <= time.monotonic() - started < 5
        with StreamLoader(fresh_warehouse, "salesforce", "contact", SHAPE, lock_wait=0):
            pass  # another stream is free
        holder.write_many([{"Id": "a", "SystemModstamp": GOOD_STAMP}])
        holder.commit()
    with StreamLoader(fresh_warehouse, "salesforce", "lead", SHAPE, lock_wait=0) as after:
        after.commit()


def test_load_log_and_rejects_carry_real_times(fresh_warehouse):
    def slow():
        yield {"Id": "t1", "SystemModstamp": GOOD_STAMP}
        time.sleep(1.0)
        yield {"no": "id"}
        yield {"Id": "t2", "SystemModstamp": GOOD_STAMP}

    result = load_records(fresh_warehouse, "salesforce", "lead", slow(), SHAPE)
    with psycopg.connect(fresh_warehouse) as conn:
        started, finished = conn.execute("select started_at, finished_at from baton_meta.load_log where load_id = %s",
                                         (result.load_id,)).fetchone()
        rejected_at = conn.execute("select rejected_at from baton_meta.rejected_records").fetchone()[0]
        loaded_at = conn.execute("select min(_loaded_at) from raw_salesforce.lead").fetchone()[0]
    assert (finished - started).total_seconds() >= 1.0
    assert (rejected_at - started).total_seconds() >= 1.0
    assert (loaded_at - started).total_seconds() >= 1.0  # written after the last record was read, not at start
