"""baton_transform's Cosmos tasks take a run's params when they run, never when the DAG is parsed.

Each dbt task renders `--full-refresh` from the run's `full_refresh` param, and a Cosmos interceptor
sets its dbt vars from the Airflow Variable `baton_dbt_vars` and the run's `dbt_vars` param (plus
the holidays they configure) just before the dbt command is built. With none of them, the command
carries no `--vars`, so dbt keeps its partial parse.
"""

from __future__ import annotations

import json

import pytest
import yaml

from baton.paths import DAGS_DIR


@pytest.fixture(scope="module")
def calendar_task():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR / "baton_transform.py"))
    assert bag.import_errors == {}
    dag = bag.dags["baton_transform"]
    assert set(dag.params) == {"full_refresh", "dbt_vars"}
    return dag.get_task("dbt.int_business_calendar_model_build")


def dbt_flags(task, params: dict) -> tuple[dict | None, bool]:
    """What the task passes dbt for a run with these params: its --vars (parsed) and whether --full-refresh."""
    context = {"params": params}
    task.vars = None
    task.full_refresh = task.render_template("{{ params.get('full_refresh', False) }}", context)
    task.invoke_interceptors(context)
    flags = task.add_global_flags()
    given = yaml.safe_load(flags[flags.index("--vars") + 1]) if "--vars" in flags else None
    return given, "--full-refresh" in task.add_cmd_flags()


def test_a_run_without_params_or_variable_passes_no_vars_and_no_full_refresh(calendar_task, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_BATON_DBT_VARS", raising=False)
    assert calendar_task.full_refresh == "{{ params.get('full_refresh', False) }}"  # a template until run time
    assert dbt_flags(calendar_task, {"full_refresh": False, "dbt_vars": {}}) == (None, False)


def test_the_runs_params_over_the_variable_reach_each_dbt_task_with_the_holidays_they_configure(calendar_task,
                                                                                                monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_BATON_DBT_VARS", json.dumps({"sla_business_minutes": 240, "stalled_days": 45}))

    given, full_refresh = dbt_flags(calendar_task, {"full_refresh": True, "dbt_vars": {
        "sla_business_minutes": 60, "holiday_country": "GB", "holiday_subdivision": "ENG", "holiday_years": 2026}})

    assert full_refresh
    assert given["sla_business_minutes"] == 60 and given["stalled_days"] == 45  # the run's param wins
    assert "2026-12-25" in given["holiday_dates"] and "2026-08-31" in given["holiday_dates"]  # England's bank holiday


def test_a_bad_variable_or_holiday_setting_fails_the_task_at_once_naming_it(monkeypatch):
    """A value no retry can fix fails the task without spending its retries (AirflowFailException)."""
    from airflow.sdk.exceptions import AirflowFailException

    from baton.airflow.dags import run_option
    from baton.airflow.tasks import dbt_vars_for_task

    monkeypatch.setenv("AIRFLOW_VAR_BATON_DBT_VARS", "[sla_business_minutes, 60]")
    with pytest.raises(AirflowFailException, match="Variable baton_dbt_vars must be a mapping"):
        run_option(dbt_vars_for_task, {})
    monkeypatch.setenv("AIRFLOW_VAR_BATON_DBT_VARS", json.dumps({"holiday_country": "XX"}))
    with pytest.raises(AirflowFailException, match="country 'XX'"):
        run_option(dbt_vars_for_task, {"dbt_vars": {}})
