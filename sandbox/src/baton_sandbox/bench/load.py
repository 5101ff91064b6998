"""`baton bench load`: Baton's loader beside PostgreSQL's own COPY and dlt, on the same records.

The records are written once to a JSON-lines file (Salesforce Lead records as the sandbox's API
returns them, generated deterministically; cached under .baton/bench/), then each contender
lands the whole file in a fresh database of its own, in the same run:

- copy: PostgreSQL's COPY of the file's lines straight into a one-column jsonb table, no
  parsing on the client, no key, no upsert: the ceiling.
- baton: the production path, run in a child process so its peak memory is its own: each line
  parsed as the API client would parse it, then StreamLoader (validation, COPY into staging,
  upsert by id into the raw table, load log, watermark) in one transaction.
- dlt: dlt's postgres destination with merge on the primary key (what Baton's upsert does).

The last output line is one JSON object: records, baton_rps, copy_rps, dlt_rps, ratio_to_copy,
ratio_to_dlt, peak_rss_mb. `--repeat N` measures COPY and Baton N times, alternating, and keeps
each one's best run (on a shared machine, the least disturbed one).
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit

from baton.warehouse import url_parts

LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted",
                 "Nurture")
INDUSTRIES = ("Software", "Financial Services", "Healthcare", "Manufacturing", "Retail", "Education", None)
COUNTRIES = ("United States", "United Kingdom", "Germany", "France", "Canada", "Australia", None)


def _lead(i: int, rng: random.Random, start: datetime) -> dict:
    created = start + timedelta(seconds=i * 13 + rng.randrange(0, 600))
    modified = created + timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
    ident = f"00Q{i:015d}"
    first, last = f"First{i % 9973}", f"Last{i % 7919}"
    stamp = modified.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {
        "attributes": {"type": "Lead", "url": f"/services/data/v60.0/sobjects/Lead/{ident}"},
        "Id": ident, "FirstName": first, "LastName": last,
        "Email": f"{first.lower()}.{last.lower()}{i}@company{i % 5003}.com",
        "Title": rng.choice(("VP Marketing", "Head of Sales", "CTO", "Analyst", "Director of Ops", None)),
        "Company": f"Company {i % 5003}", "Industry": rng.choice(INDUSTRIES),
        "NumberOfEmployees": rng.choice((10, 50, 200, 1000, 5000, None)), "Country": rng.choice(COUNTRIES),
        "LeadSource": rng.choice(("Web", "Webinar", "Paid Search", "Partner", None)),
        "Status": rng.choice(LEAD_STATUSES), "OwnerId": f"005{rng.randrange(40):015d}",
        "IsConverted": False, "ConvertedDate": None, "ConvertedContactId": None, "ConvertedAccountId": None,
        "ConvertedOpportunityId": None, "MasterRecordId": None,
        "Marketing_Touch_Count__c": rng.randrange(0, 40),
        "Last_Marketing_Touch_At__c": (modified - timedelta(hours=rng.randrange(1, 500))).strftime(
            "%Y-%m-%dT%H:%M:%S.000+0000"),
        "Disqualified_Reason__c": None, "Recycled_Reason__c": None,
        "CreatedDate": created.strftime("%Y-%m-%dT%H:%M:%S.000+0000"), "LastModifiedDate": stamp,
        "SystemModstamp": stamp, "IsDeleted": rng.random() < 0.02,
    }


def records_file(count: int) -> Path:
    """The bench's records as JSON lines, written once per size."""
    import orjson

    from baton.paths import state_path

    path = state_path("bench", f"salesforce-lead-{count}.jsonl")
    if path.exists():
        return path
    rng = random.Random(7)
    start = datetime(2026, 5, 1, tzinfo=timezone.utc)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        for i in range(count):
            out.write(orjson.dumps(_lead(i, rng, start)) + b"\n")
    partial.rename(path)
    return path


def _fresh_database(base_url: str, prefix: str) -> tuple[str, str]:
    import psycopg

    from baton.warehouse import with_database

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return name, with_database(base_url, name)


def _drop_database(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def measure_copy(url: str, path: Path) -> float:
    """Seconds for PostgreSQL's COPY of the file's lines into a jsonb table."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("create table copy_ceiling (data jsonb not null)")
        conn.commit()
        started = time.perf_counter()
        # CSV with control characters as quote and delimiter: every line is taken verbatim.
        with conn.cursor().copy("copy copy_ceiling (data) from stdin with (format csv, quote e'\\x01',"
                                " delimiter e'\\x02')") as copy, path.open("rb") as source:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


def measure_baton(url: str, path: Path) -> dict:
    """Seconds and peak RSS of Baton's loader landing the file, in a child process."""
    child = subprocess.run([sys.executable, "-m", "baton_sandbox.bench.load", "--child", url, str(path)],
                           capture_output=True, text=True, check=False)
    if child.returncode != 0:
        raise RuntimeError(f"baton loader child failed: {child.stderr[-2000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def _child(url: str, path: str) -> None:
    import orjson

    from baton.load.loader import StreamLoader
    from baton.sources.salesforce import STREAMS

    lead_stream = next(stream for stream in STREAMS if stream.name == "lead")
    started = time.perf_counter()
    with StreamLoader(url, "salesforce", "lead", lead_stream.shape) as loader, open(path, "rb") as source:
        loader.write_many(orjson.loads(line) for line in source)
        result = loader.commit()
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_rss_mb": round(peak_kb / 1024, 1), "loaded": result.loaded,
                      "rejected": result.rejected}))


def measure_dlt(url: str, path: Path, workdir: Path) -> float:
    import dlt
    import orjson

    def leads():
        with path.open("rb") as source:
            for line in source:
                yield orjson.loads(line)

    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    # dlt insists on a host and a password in the URL. A socket URL keeps its directory in libpq's
    # ?host= (which wins over the placeholder host), and a trusting server ignores the password.
    fields = url_parts(url)
    parts = urlsplit(url)
    user, password = quote(fields["user"], safe=""), quote(fields["password"] or "unused", safe="")
    url = parts._replace(netloc=f"{user}:{password}@{parts.hostname or 'localhost'}:{fields['port']}").geturl()
    pipeline = dlt.pipeline(pipeline_name=f"baton_bench_{uuid.uuid4().hex[:6]}", pipelines_dir=str(workdir),
                            destination=dlt.destinations.postgres(credentials=url), dataset_name="dlt_bench")
    resource_ = dlt.resource(leads, name="lead", primary_key="Id", write_disposition="merge")
    started = time.perf_counter()
    pipeline.run(resource_)
    return time.perf_counter() - started


def bench_load_command(args) -> int:
    import tempfile

    from baton import warehouse

    count = args.records
    path = args.file or records_file(count)
    if args.file:
        with path.open("rb") as source:
            count = sum(1 for _ in source)
    size_mb = path.stat().st_size / 1e6
    print(f"records: {count:,} Salesforce Lead records, {size_mb:,.0f} MB of JSON ({path})", flush=True)
    base = warehouse.warehouse_url()
    figures: dict[str, float | None] = {}

    copy_seconds: list[float] = []
    baton_runs: list[dict] = []
    for _ in range(max(1, args.repeat)):
        name, url = _fresh_database(base, "baton_bench_copy")
        try:
            copy_seconds.append(measure_copy(url, path))
        finally:
            _drop_database(base, name)
        print(f"copy   (PostgreSQL COPY into jsonb, ceiling): {copy_seconds[-1]:8.2f} s"
              f"  {count / copy_seconds[-1]:>10,.0f} records/s", flush=True)
        name, url = _fresh_database(base, "baton_bench_baton")
        try:
            baton_runs.append(measure_baton(url, path))
        finally:
            _drop_database(base, name)
        print(f"baton  (parse, validate, stage, upsert, log): {baton_runs[-1]['seconds']:8.2f} s"
              f"  {count / baton_runs[-1]['seconds']:>10,.0f} records/s"
              f"  peak RSS {baton_runs[-1]['peak_rss_mb']:.0f} MB", flush=True)
    figures["copy_rps"] = count / min(copy_seconds)
    baton = min(baton_runs, key=lambda run: run["seconds"])
    baton["peak_rss_mb"] = max(run["peak_rss_mb"] for run in baton_runs)
    figures["baton_rps"] = count / baton["seconds"]

    figures["dlt_rps"] = None
    if not args.skip_dlt:
        name, url = _fresh_database(base, "baton_bench_dlt")
        try:
            with tempfile.TemporaryDirectory(prefix="baton-bench-dlt-") as workdir:
                seconds = measure_dlt(url, path, Path(workdir))
        finally:
            _drop_database(base, name)
        figures["dlt_rps"] = count / seconds
        print(f"dlt    (postgres destination, merge on Id):   {seconds:8.2f} s  {figures['dlt_rps']:>10,.0f} records/s",
              flush=True)

    summary = {
        "records": count,
        "baton_rps": round(figures["baton_rps"]),
        "copy_rps": round(figures["copy_rps"]),
        "dlt_rps": round(figures["dlt_rps"]) if figures["dlt_rps"] else None,
        "ratio_to_copy": round(figures["baton_rps"] / figures["copy_rps"], 3),
        "ratio_to_dlt": round(figures["baton_rps"] / figures["dlt_rps"], 2) if figures["dlt_rps"] else None,
        "peak_rss_mb": baton["peak_rss_mb"],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        print("usage: python -m baton_sandbox.bench.load --child URL FILE", file=sys.stderr)
        sys.exit(2)
