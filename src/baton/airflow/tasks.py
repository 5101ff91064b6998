"""What the DAGs' tasks do: every task body, as plain functions of plain values.

The DAG files and baton.airflow.dags only declare tasks; each task calls one function here.
Credentials come from Airflow connections (or the environment outside Airflow) at run time,
never at parse time; so do a run's options (its params: full refresh, backfill start, dbt vars)
and the Airflow Variable `baton_dbt_vars`.
"""

from __future__ import annotations

import logging
import os

from baton.instants import iso_z, now, parse_instant

log = logging.getLogger("baton")

DBT_VARS_VARIABLE = "baton_dbt_vars"


def warehouse_url_for_task() -> str:
    """WAREHOUSE_URL, else Airflow's `warehouse_default` connection; in a task, neither is an error."""
    from baton.warehouse import warehouse_url

    return warehouse_url()


def source_connection_for_task(source: str):
    """The source's connection through Airflow (secrets backends, AIRFLOW_CONN_*, the connection store), or None."""
    from baton.connections import airflow_connection
    from baton.sources.registry import get_source

    return airflow_connection(get_source(source).connection_id)


def extract(source: str, streams: list[str] | None, end, *, full_refresh: bool = False, since=None) -> list[dict]:
    """These streams of the source (None: all) from their watermarks up to `end`, into its raw schema;
    `full_refresh` reads from the backfill start instead, `since` from that instant (run params)."""
    from baton.sources.runner import run_for_task

    connection = source_connection_for_task(source)
    if connection is None:
        log.warning("%s: source skipped: no connection %r configured", source, _connection_id(source))
        return []
    if full_refresh:
        log.info("%s: full refresh: watermarks ignored, every stream read from its backfill start", source)
    elif since is not None:
        log.info("%s: watermarks ignored, every stream read from %s", source, iso_z(since))
    return run_for_task(source, streams, connection, warehouse_url_for_task(), end, full_refresh=full_refresh,
                        since=since)


def extract_options(params, end) -> dict:
    """A run's extract params (`full_refresh`, `since`) as extract()'s keywords; a clear error when they
    contradict each other or the run."""
    params = params or {}
    full_refresh, since = bool(params.get("full_refresh")), params.get("since")
    if not since:
        return {"full_refresh": full_refresh, "since": None}
    if full_refresh:
        raise ValueError(f"params full_refresh and since ({since}) both set: a full refresh reads from the start;"
                         " give one of them")
    try:
        start = parse_instant(since)
    except ValueError:
        raise ValueError(f"param since {since!r} is not an ISO date or instant (e.g. 2026-03-01 or"
                         " 2026-03-01T00:00:00Z)") from None
    if end is not None and start > parse_instant(end):
        raise ValueError(f"param since {iso_z(start)} is after this run's end {iso_z(parse_instant(end))}:"
                         " nothing to extract")
    return {"full_refresh": False, "since": start}


def dbt_vars_for_task(params) -> dict:
    """The run's dbt vars: the Airflow Variable `baton_dbt_vars` (a YAML or JSON mapping), then the
    run's `dbt_vars` param over it. Read when the task runs, never when the DAG is parsed; checked
    here (holidays included), so a bad value is named before dbt starts."""
    from airflow.sdk import Variable

    from baton.build.dbt import effective_vars, parse_vars

    configured = parse_vars(Variable.get(DBT_VARS_VARIABLE, default=None),
                            f"the Airflow Variable {DBT_VARS_VARIABLE}")
    given = (params or {}).get("dbt_vars") or {}
    if isinstance(given, str):
        given = parse_vars(given, "the run's dbt_vars param")
    if not isinstance(given, dict):
        raise ValueError(f"the run's dbt_vars param must be a mapping of var names to values; got {given!r}")
    merged = {**configured, **given}
    effective_vars(merged)
    if merged:
        log.info("dbt vars of this run: %s", ", ".join(sorted(merged)))
    return merged


def _connection_id(source: str) -> str:
    from baton.sources.registry import get_source

    return get_source(source).connection_id


def summarize_loads(source: str, loads: list[list[dict]]) -> dict:
    rows = [row for batch in loads for row in batch]
    return {"source": source, "streams": len(rows), "loaded": sum(row["loaded"] for row in rows),
            "rejected": sum(row["rejected"] for row in rows)}


def data_as_of(data_interval_end=None) -> str:
    """The run's as-of instant: the data interval's end, else (an Asset-triggered run has no
    interval) the latest watermark any stream reached: the data's own "now"."""
    if data_interval_end is not None:
        return iso_z(parse_instant(data_interval_end))
    from baton.warehouse import connect

    with connect(warehouse_url_for_task()) as conn:
        row = conn.execute("select max(watermark) from baton_meta.sync_state").fetchone()
    return iso_z(row[0] or now())


def prepare(*, owner: str | None = None) -> dict:
    """Take the warehouse's lease; raw tables exist; the shadow is clean or the last published.
    The result's `lease` travels to the later steps (XCom)."""
    from baton.build.steps import prepare as prepare_shadow

    return prepare_shadow(warehouse_url_for_task(), owner=owner)


def dbt_build(as_of: str, lease: str | None = None, *, full_refresh: bool = False,
              dbt_vars: dict | None = None) -> dict:
    """The whole dbt build (seeds, models, tests) into the shadow schemas, as one task."""
    from baton.build.dbt import run_vars
    from baton.build.steps import build_into_shadow

    with run_vars(dbt_vars):
        result = build_into_shadow(warehouse_url_for_task(), as_of=parse_instant(as_of), target_name="transform",
                                   lease=lease, full_refresh=full_refresh)
    statuses: dict[str, int] = {}
    for item in result.results:
        statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    return {"nodes": statuses, "full_refresh": full_refresh}


def mark_built(as_of: str, manifest_path: str | None, lease: str | None = None) -> str:
    from baton.build.steps import mark_built as stamp
    from baton.paths import state_path

    if manifest_path is None or not os.path.isfile(manifest_path):
        fallback = state_path("dbt", "transform", "target", "manifest.json")
        manifest_path = str(fallback) if fallback.is_file() else None
    return stamp(warehouse_url_for_task(), as_of=parse_instant(as_of), manifest_path=manifest_path, lease=lease)


def check_and_publish(as_of: str, lease: str | None = None, *, dbt_vars: dict | None = None) -> dict:
    """The quality gate on the shadow; the atomic swap when every correctness check passes."""
    from baton.build.dbt import run_vars
    from baton.build.steps import check_and_publish as gate_and_publish

    with run_vars(dbt_vars):  # the gate's grain tests are dbt tests
        return gate_and_publish(warehouse_url_for_task(), as_of=parse_instant(as_of), lease=lease)


def release_lease(lease: str | None) -> bool:
    """A task of the sequence failed for good: give the warehouse back (baton.build.lease)."""
    from baton.build.lease import release

    return release(warehouse_url_for_task(), lease)


def report(as_of: str, *, dbt_vars: dict | None = None) -> dict:
    """After a publish: the night's HTML report (report-<date>.html and latest.html) and the data
    dictionary (dbt's static docs, with the run's vars) in the reports folder."""
    import shutil
    import time

    from baton.build.dbt import run_vars
    from baton.notify.dictionary import write_data_dictionary
    from baton.notify.html_report import write_html_report
    from baton.paths import reports_dir

    url, instant, folder = warehouse_url_for_task(), parse_instant(as_of), reports_dir()
    night = folder / report_name(instant)
    from baton.engines import is_postgres

    if not is_postgres(url):
        from baton.engines import engine_kind

        try:
            if engine_kind(url) == "spark":
                raise NotImplementedError("the HTML report's queries are PostgreSQL SQL, which Spark SQL does not read")
            written = write_html_report(url, night, as_of=instant)  # DuckDB reads them (to_regclass: a macro)
        except Exception as error:
            log.warning("report: the HTML report does not run on this engine (%s); writing the text summary",
                        str(error).splitlines()[0][:200])
            return _engine_report(url, night, instant)
    else:
        written = write_html_report(url, night, as_of=instant)
    partial = folder / ".latest.html.tmp"
    shutil.copyfile(night, partial)
    partial.replace(folder / "latest.html")  # a reader never opens half a file
    started = time.monotonic()
    try:
        with run_vars(dbt_vars):
            dictionary = write_data_dictionary(url, folder, as_of=instant)
    except Exception as error:
        if is_postgres(url):
            raise
        log.warning("report: no data dictionary on this engine (%s)", str(error).splitlines()[0][:200])
        return {"report": str(night), "report_s": round(written.seconds, 1)}
    log.info("report %s (%.1fs), data dictionary %s (%.1fs)", night, written.seconds, dictionary.path,
             time.monotonic() - started)
    return {"report": str(night), "report_s": round(written.seconds, 1), "dictionary": str(dictionary.path),
            "dictionary_s": round(dictionary.seconds, 1)}


def _engine_report(url: str, night, instant) -> dict:
    """The report step where the HTML report's SQL does not run (Spark): the terminal report's leak
    summary as text, read through the engine (docs/engines.md)."""
    from baton.engines import engine_for

    engine = engine_for(url)
    text = night.with_suffix(".txt")
    with engine.connect() as conn:
        rows = conn.execute("select leak_type, count(*) as leaks, sum(case when severity = 'high' then 1 else 0 end)"
                            " as high from marts.fct_funnel_leaks group by leak_type order by leaks desc").fetchall()
        handoffs = conn.execute("select count(*) from marts.fct_handoffs").fetchone()[0]
    lines = [f"Baton funnel leaks as of {iso_z(instant)} ({engine.kind}): {handoffs} handoffs"]
    lines += [f"  {leak_type:<32} {leaks:>6} leaks, {high:>5} high" for leak_type, leaks, high in rows]
    text.write_text("\n".join(lines) + "\n")
    log.info("report on %s: %s (the HTML report and the data dictionary do not run on %s yet)", engine.kind, text,
             engine.kind)
    return {"report": str(text), "engine": engine.kind, "leak_types": len(rows)}


def report_name(as_of) -> str:
    return f"report-{parse_instant(as_of):%Y-%m-%d}.html"


def digest(as_of: str) -> dict:
    from baton.engines import is_postgres
    from baton.notify.digest import post_digest

    if not is_postgres(warehouse_url_for_task()):
        log.info("digest skipped: the digest's memory of sent leaks (quality.digest_log) is PostgreSQL-only for now")
        return {"status": "skipped", "reason": "engine"}
    return post_digest(warehouse_url_for_task(), as_of=parse_instant(as_of), report_name=report_name(as_of))
