"""Running dbt over the warehouse: `dbt(["build"], url, vars={...})`.

dbt runs in-process through `dbtRunner` with the warehouse fields in the environment
(profiles.yml reads them), the project's own profiles dir, and its target and logs under
`.baton/dbt/`, so the repository stays clean and two callers never share a target folder.
Before a build, every raw table the sources declare exists (baton.load.schema.ensure_raw_tables),
so the project compiles and builds even before a source has been loaded.

A run's own vars (`baton run --vars`, the Airflow Variable `baton_dbt_vars`, a run's `dbt_vars`
param) reach every dbt invocation of the run, whoever makes it (the build, the gate's grain tests,
the data dictionary): the caller sets them once with `run_vars(...)`. `effective_vars` adds what
the holiday vars configure (baton.build.holidays) and is what both this module and the Cosmos tasks
pass to dbt. With no var set, no `--vars` is passed, so dbt keeps its partial parse.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from baton.instants import iso_z
from baton.load.schema import ensure_raw_tables
from baton.paths import DBT_PROJECT_DIR, state_path
from baton.warehouse import dbt_env

log = logging.getLogger("baton.build.dbt")

# dbt's in-process runner is not re-entrant and reads its environment globally.
_DBT_LOCK = threading.Lock()
_RUN_VARS: ContextVar[dict | None] = ContextVar("baton_dbt_run_vars", default=None)


def parse_vars(text: str | None, what: str = "--vars") -> dict:
    """dbt vars written as dbt's --vars takes them: a YAML or JSON mapping (`{"sla_business_minutes": 240}`)."""
    import yaml

    if text is None or not str(text).strip():
        return {}
    try:
        value = yaml.safe_load(str(text))
    except yaml.YAMLError as error:
        raise ValueError(f"{what} is not YAML or JSON: {str(error).splitlines()[0]}") from None
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise ValueError(f"{what} must be a mapping of var names to values, like dbt's --vars"
                         f" ('{{\"sla_business_minutes\": 240}}'); got {type(value).__name__}")
    return value


@contextmanager
def run_vars(vars: dict | None) -> Iterator[dict]:
    """Every dbt invocation inside gets these vars (explicit vars of a call win over them)."""
    token = _RUN_VARS.set(dict(vars or {}))
    try:
        yield _RUN_VARS.get()
    finally:
        _RUN_VARS.reset(token)


def project_vars() -> dict:
    """The vars dbt_project.yml declares, with their defaults."""
    import yaml

    return (yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text()) or {}).get("vars") or {}


def effective_vars(vars: dict | None = None) -> dict:
    """The run's vars, then `vars` over them, then `holiday_dates` when a holiday country is configured."""
    from baton.build.holidays import holiday_dates

    merged = {**(_RUN_VARS.get() or {}), **(vars or {})}
    dates = holiday_dates(merged, project_vars())
    if dates is not None:
        merged["holiday_dates"] = dates
    return merged


@dataclass
class DbtResult:
    success: bool
    args: list[str]
    results: list[dict[str, Any]] = field(default_factory=list)
    exception: str | None = None

    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] in ("error", "fail", "runtime error")]

    def __bool__(self) -> bool:
        return self.success


def dbt(args: list[str], warehouse_url: str, vars: dict | None = None, *,
        target_name: str = "default", schema_suffix: str | None = None) -> DbtResult:
    """Run one dbt command (e.g. ["build"], ["run", "--select", "staging"]) on the warehouse.

    `vars` become `--vars` (e.g. {"as_of": "2026-11-01T00:00:00Z"}); `target_name` picks the
    folder under .baton/dbt/ for target and logs; `schema_suffix` builds into suffixed
    schemas (marts_shadow) for a publish step.
    """
    from dbt.cli.main import dbtRunner

    target_path = state_path("dbt", target_name, "target", ".keep").parent
    log_path = state_path("dbt", target_name, "logs", ".keep").parent
    full_args = [*args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                 "--target-path", str(target_path), "--log-path", str(log_path)]
    vars = effective_vars(vars)
    env = dbt_env(warehouse_url)
    # as_of travels as an env var: a new --vars value makes dbt re-parse the whole project.
    env["BATON_AS_OF"] = str(vars.pop("as_of", None) or "")
    if vars:
        full_args += ["--vars", json.dumps(vars, default=str)]  # YAML dates as ISO text
    if schema_suffix is not None:
        env["BATON_SCHEMA_SUFFIX"] = schema_suffix
    from baton.engines import holding_engine

    with _DBT_LOCK, holding_engine(warehouse_url):
        saved = {key: os.environ.get(key) for key in [*env, "BATON_SCHEMA_SUFFIX", "DBT_SEND_ANONYMOUS_USAGE_STATS"]}
        os.environ.update(env)
        os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        try:
            outcome = dbtRunner().invoke(full_args)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    results = []
    for item in getattr(outcome.result, "results", None) or []:
        node = getattr(item, "node", None)
        results.append({
            "unique_id": getattr(node, "unique_id", None),
            "name": getattr(node, "name", None),
            "status": str(getattr(item, "status", "")).lower(),
            "message": getattr(item, "message", None),
            "failures": getattr(item, "failures", None),
            "execution_time": getattr(item, "execution_time", None),
        })
    return DbtResult(success=bool(outcome.success), args=full_args, results=results,
                     exception=str(outcome.exception) if outcome.exception else None)


class DbtBuildFailed(RuntimeError):
    pass


def dbt_build(warehouse_url: str, *, as_of: datetime | None = None, full_refresh: bool = False,
              select: list[str] | None = None, schema_suffix: str | None = None,
              target_name: str = "build") -> dict:
    """`dbt build` (seeds, models, tests) with every "now" at `as_of`; raises when anything fails."""
    ensure_raw_tables(warehouse_url)
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", *select]
    vars = {"as_of": iso_z(as_of, micros=True)} if as_of is not None else None
    started = time.monotonic()
    result = dbt(args, warehouse_url, vars, target_name=target_name, schema_suffix=schema_suffix)
    seconds = round(time.monotonic() - started, 2)
    failures = result.failures()
    if not result.success:
        detail = "; ".join(f"{f['name']}: {(f['message'] or '').strip()[:300]}" for f in failures[:10])
        raise DbtBuildFailed(f"dbt build failed ({len(failures)} failures): {detail or result.exception}")
    log.info("dbt build: %d nodes in %.1fs", len(result.results), seconds)
    return {"nodes": len(result.results), "seconds": seconds, "as_of": vars["as_of"] if vars else None,
            "warnings": sum(r["status"] == "warn" for r in result.results)}

