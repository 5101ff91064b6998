"""How the watch is configured: write-back mode from an Airflow Variable, knobs from the environment.

Write-back is the Airflow Variable `baton_write_back`: `off` (the default: nothing is written or
recorded), `dry-run` (records and prints what it would write) or `on`. Airflow reads it from its
own places (`AIRFLOW_VAR_BATON_WRITE_BACK`, a secrets backend, the metadata database), in a task
and in `baton watch` alike; `baton watch --write` / `--dry-run` override it for one run. Where the
tasks go follows the handoff's CRM record: the `salesforce_default` or `hubspot_default`
connection, the same the extract reads with (its credentials need write access to tasks).
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from functools import lru_cache

log = logging.getLogger("baton.watch")

VARIABLE = "baton_write_back"
MODES = ("off", "dry-run", "on")


class BadSetting(ValueError):
    """A watch setting with a value it cannot mean."""


def parse_mode(value: str | None) -> str:
    """`off`, `dry-run` or `on` (case and `dry_run` forgiven); anything else is an error, not off."""
    if value is None or not str(value).strip():
        return "off"
    mode = str(value).strip().lower().replace("_", "-")
    if mode not in MODES:
        raise BadSetting(f"{VARIABLE} must be one of {', '.join(MODES)}; got {value!r}")
    return mode


def airflow_variable(key: str) -> str | None:
    """The Airflow Variable `key` through Airflow's own lookup (None when unset); without Airflow, its
    `AIRFLOW_VAR_<KEY>` environment variable."""
    from baton.connections import in_airflow_task

    try:
        if in_airflow_task():
            from airflow.sdk import Variable

            return Variable.get(key, default=None)
        from airflow.models.variable import Variable as CoreVariable
    except ImportError:
        return os.environ.get(f"AIRFLOW_VAR_{key.upper()}")
    try:
        return CoreVariable.get(key, default_var=None)
    except Exception as error:  # e.g. a metadata database not migrated yet: the environment still answers
        log.debug("Airflow's variable lookup failed (%s); reading AIRFLOW_VAR_*", error)
        return os.environ.get(f"AIRFLOW_VAR_{key.upper()}")


def write_back_mode(override: str | None = None) -> str:
    return parse_mode(override if override is not None else airflow_variable(VARIABLE))


def _number(name: str, default: float, *, minimum: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadSetting(f"{name} must be a number; got {raw!r}") from None
    if value < minimum:
        raise BadSetting(f"{name} must be at least {minimum:g}; got {raw!r}")
    return value


def lookback() -> timedelta:
    """How far back a breach may have begun and still get its task (BATON_WATCH_LOOKBACK_HOURS, 96).

    A breach shows one business minute after its SLA ran out (minutes are whole, "more than" is
    strict): one that runs out in a Friday's last minute shows on Monday morning. Four days cover a
    weekend and a holiday; a first run catches up on what is still overdue from them, no further.
    """
    return timedelta(hours=_number("BATON_WATCH_LOOKBACK_HOURS", 96, minimum=1))


def max_attempts() -> int:
    """Tries of one task (runs of the write step, Airflow's retries of it included) before the watch
    gives up on it (BATON_WATCH_MAX_ATTEMPTS, 24)."""
    return int(_number("BATON_WATCH_MAX_ATTEMPTS", 24, minimum=1))


def write_attempts() -> int:
    """POSTs of one task within a run, rate limits and outages included (BATON_WATCH_WRITE_ATTEMPTS, 6)."""
    return int(_number("BATON_WATCH_WRITE_ATTEMPTS", 6, minimum=1))


def lock_wait_seconds() -> float:
    """How long a watch hour waits for another one on the same warehouse (BATON_WATCH_LOCK_WAIT_SECONDS, 600)."""
    return _number("BATON_WATCH_LOCK_WAIT_SECONDS", 600, minimum=0)


@lru_cache(maxsize=1)
def subject_prefix() -> str:
    """The subject prefix that marks a task as Baton's: the dbt var the sales-touch model excludes
    by (dbt_project.yml `baton_task_subject_prefix`), read from the project so both sides agree."""
    import yaml

    from baton.paths import DBT_PROJECT_DIR

    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    prefix = str((project.get("vars") or {}).get("baton_task_subject_prefix") or "").strip()
    if not prefix:
        raise BadSetting("dbt_project.yml has no var baton_task_subject_prefix: the watch cannot mark its tasks")
    return prefix
