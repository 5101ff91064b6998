"""What every Baton DAG is made of: the nightly timetable, default args (with the failure alert),
the run params, the Assets, one failure adapter, the extract DAG's shape, and the build → gate →
publish chain.

The files under dags/ stay one per dag_id and only call these factories, so the same work in
two DAGs is the same code: baton_nightly and baton_transform both end in `build_check_publish`.
Nothing here touches a database or the network at parse time; every task body is in
baton.airflow.tasks.
"""

from __future__ import annotations

import functools
import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, chain, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from baton.paths import DBT_PROJECT_DIR, RENDER_MANIFEST

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
# An ISO date or instant (what baton.instants.parse_instant reads), for the `since` param's schema.
_ISO_INSTANT = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"


def _alert(context) -> None:
    """on_failure_callback of every task: a task failed for good (after its retries), one Slack alert."""
    from baton.notify.alerts import alert_task_failed

    alert_task_failed(context)


def default_args(env=os.environ) -> dict:
    """3 retries with backoff for scheduled runs; `baton run` lowers them for its in-process run
    (BATON_TASK_RETRIES, BATON_TASK_RETRY_DELAY_SECONDS) so a failure surfaces in seconds, not minutes.
    A task that fails for good alerts (baton.notify.alerts); a retry does not."""
    if "BATON_TASK_RETRIES" not in env and "BATON_TASK_RETRY_DELAY_SECONDS" not in env:
        return {"owner": "baton", "retries": 3, "retry_delay": timedelta(minutes=1),
                "retry_exponential_backoff": True, "max_retry_delay": timedelta(minutes=30),
                "on_failure_callback": _alert}
    delay = timedelta(seconds=float(env.get("BATON_TASK_RETRY_DELAY_SECONDS", "5")))
    return {"owner": "baton", "retries": int(env.get("BATON_TASK_RETRIES", "1")), "retry_delay": delay,
            "retry_exponential_backoff": False, "max_retry_delay": delay, "on_failure_callback": _alert}


def run_params(*, extract: bool = True, build: bool = True) -> dict:
    """What a manual run may ask for (Airflow Params, validated by their schema); the defaults are
    the scheduled behaviour. Tasks read them when they run (baton.airflow.tasks)."""
    from airflow.sdk import Param

    refresh = [*(["extract every stream from its backfill start (watermarks ignored for this run)"] if extract else []),
               *(["run `dbt build --full-refresh`"] if build else [])]
    description = " and ".join(refresh)
    params = {"full_refresh": Param(False, type="boolean", title="Full refresh",
                                    description=description[0].upper() + description[1:] + ".")}
    if extract:
        params["since"] = Param(None, type=["null", "string"], pattern=_ISO_INSTANT, title="Backfill start",
                                description="Extract from this instant instead of each stream's watermark: an ISO"
                                            " date or instant, UTC unless it names an offset (2026-03-01,"
                                            " 2026-03-01T06:00:00Z). Empty: from the watermarks.")
    if build:
        params["dbt_vars"] = Param({}, type="object", title="dbt vars",
                                   description="dbt vars for this run, over the Airflow Variable baton_dbt_vars and"
                                               " dbt_project.yml's defaults, e.g. {\"sla_business_minutes\": 240}.")
    return params


DEFAULT_ARGS = default_args()
# The postgres provider's Asset URI rule: postgres://host:port/database/schema/table (the whole schema: all_models).
MARTS_ASSET_URI = "postgres://warehouse:5432/baton/marts/all_models"
SHADOW_SUFFIX = "_shadow"  # baton.build.publish.SHADOW_SUFFIX (not imported: keeps parsing light)
DBT_PARSE_TARGET = "manifest"  # .baton/dbt/manifest/: where refreshing the shipped render manifest parses


def nightly_timetable() -> CronDataIntervalTimetable:
    """Every night at 00:00 UTC, for the UTC day before: its end is the run's as-of instant."""
    return CronDataIntervalTimetable("0 0 * * *", timezone="UTC")


def fail_without_retry(function):
    """The one failure adapter: errors that the same input would raise again (a failed quality
    gate, a refused publish, a lease another run took over) fail the task at once instead of
    spending its retries."""
    from baton.build.publish import PublishRefused
    from baton.quality.gate import QualityGateFailed

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (QualityGateFailed, PublishRefused) as failure:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(failure)) from failure

    return wrapper


def run_option(function, *args):
    """A run's option as a task reads it (its params, the Airflow Variable baton_dbt_vars): an invalid
    one fails the task at once, since no retry can fix it."""
    try:
        return function(*args)
    except ValueError as invalid:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(invalid)) from invalid


def raw_assets() -> list[Asset]:
    from baton.sources.registry import sources

    return [Asset(source.asset_uri) for source in sources().values()]


def extract_dag(source_name: str, doc_md: str):
    """baton_extract_<source>: the source's streams in dependency stages, then its raw-schema Asset."""
    from baton.sources.registry import get_source

    source = get_source(source_name)

    @dag(dag_id=f"baton_extract_{source.name}", schedule=nightly_timetable(), start_date=START_DATE,
         catchup=False, max_active_runs=1, tags=["baton", "extract", source.name], default_args=DEFAULT_ARGS,
         params=run_params(build=False), doc_md=doc_md)
    def extract_source():
        @task(map_index_template="{{ task.op_kwargs['stream'] }}")
        def extract(stream: str, data_interval_end=None, params=None) -> list[dict]:
            from baton.airflow import tasks

            return tasks.extract(source.name, [stream], data_interval_end,
                                 **run_option(tasks.extract_options, params, data_interval_end))

        raw_asset = Asset(source.asset_uri)

        @task(outlets=[raw_asset])
        def publish(loads, data_interval_end=None, outlet_events=None) -> dict:
            from baton.airflow import tasks

            # The Asset event carries the interval's end: the transform it triggers builds as of it.
            if outlet_events is not None and data_interval_end is not None:
                outlet_events[raw_asset].extra = {"as_of": tasks.data_as_of(data_interval_end)}
            # By index: iterating the lazy XCom sequence probes one past its end and logs an error.
            return tasks.summarize_loads(source.name, [loads[index] for index in range(len(loads))])

        stages = [extract.override(task_id=f"extract_stage_{n}").expand(stream=list(streams))
                  for n, streams in enumerate(source.stream_stages(), start=1)]
        chain(*stages, publish(stages[-1]))

    return extract_source()


def extract_all_sources() -> list:
    """One task per registered source, each extracting all its streams (baton_nightly)."""
    from baton.sources.registry import source_names

    @task
    def extract(source: str, data_interval_end=None, params=None) -> list[dict]:
        from baton.airflow import tasks

        return tasks.extract(source, None, data_interval_end,
                             **run_option(tasks.extract_options, params, data_interval_end))

    return [extract.override(task_id=f"extract_{name}")(name) for name in source_names()]


def build_check_publish(as_of, *, per_model: bool):
    """prepare → dbt (one task, or one Cosmos task per node) → mark_built → check_and_publish → digest → report.

    `as_of` is the task (or XCom) giving the run's as-of instant as ISO text. `per_model` renders
    the dbt build from the render manifest that ships in the package (dbt_project/render_manifest.json,
    baton.build.manifest), one task per seed and model with its tests: every machine that parses the
    DAG file renders the same tasks, and nothing a task writes changes them.
    """
    manifest = RENDER_MANIFEST

    @task
    def prepare() -> dict:
        from baton.airflow import tasks

        return tasks.prepare(owner=_sequence_owner())

    @task(on_failure_callback=[_release_lease, _alert])
    def dbt_build(as_of_instant: str, params=None) -> dict:
        from baton.airflow import tasks

        return fail_without_retry(tasks.dbt_build)(as_of_instant, _lease(), full_refresh=_full_refresh(params),
                                                   dbt_vars=run_option(tasks.dbt_vars_for_task, params))

    @task(on_failure_callback=[_release_lease, _alert])
    def mark_built(as_of_instant: str) -> str:
        from baton.airflow import tasks

        return fail_without_retry(tasks.mark_built)(as_of_instant, str(manifest) if per_model else None, _lease())

    @task(outlets=[Asset(MARTS_ASSET_URI)], on_failure_callback=[_release_lease, _alert])
    def check_and_publish(build_id: str, as_of_instant: str, params=None) -> dict:
        from baton.airflow import tasks

        return fail_without_retry(tasks.check_and_publish)(as_of_instant, _lease(),
                                                           dbt_vars=run_option(tasks.dbt_vars_for_task, params))

    @task
    def digest(published: dict, as_of_instant: str) -> dict:
        from baton.airflow import tasks

        return tasks.digest(as_of_instant)

    @task
    def report(sent: dict, as_of_instant: str, params=None) -> dict:
        from baton.airflow import tasks

        return tasks.report(as_of_instant, dbt_vars=run_option(tasks.dbt_vars_for_task, params))

    prepared = prepare()
    build = _dbt_task_group(manifest) if per_model else dbt_build(as_of)
    built = mark_built(as_of)
    as_of >> prepared >> build >> built
    # The digest goes first (a report that cannot be written must not hold back the news); it
    # links the night's report by its name, which the report task writes seconds later.
    return report(digest(check_and_publish(built, as_of), as_of), as_of)


def _sequence_owner() -> str:
    """Who holds the warehouse's lease: this DAG run (a retried prepare of it takes its lease back)."""
    import socket

    from airflow.sdk import get_current_context

    context = get_current_context()
    run = context["dag_run"]
    baton_run = os.environ.get("BATON_RUN_ID")
    started = f" started {run.start_date:%Y-%m-%dT%H:%M:%S.%f}" if run.start_date else ""
    return (f"{run.dag_id} {run.run_id}{started}{f', baton run {baton_run}' if baton_run else ''}"
            f" on {socket.gethostname()}")


def _full_refresh(params) -> bool:
    return bool((params or {}).get("full_refresh"))


def _lease(context=None) -> str | None:
    """The lease token prepare took for this DAG run (its XCom)."""
    if context is None:
        from airflow.sdk import get_current_context

        context = get_current_context()
    prepared = context["ti"].xcom_pull(task_ids="prepare")
    return prepared.get("lease") if isinstance(prepared, dict) else None


def _release_lease(context) -> None:
    """on_failure_callback of the sequence's tasks: a task failed for good, free the warehouse."""
    from baton.airflow import tasks

    tasks.release_lease(_lease(context))


def _warehouse_in_environment(context) -> None:
    """Before each dbt task: the fields profiles.yml reads, from WAREHOUSE_URL or warehouse_default.

    Set in the task's own process at run time, so no credential is ever part of the DAG.
    """
    from baton.airflow.tasks import warehouse_url_for_task
    from baton.warehouse import dbt_env

    os.environ.update(dbt_env(warehouse_url_for_task()))


def _dbt_vars_for_cosmos(context, operator) -> None:
    """A Cosmos interceptor, before each dbt task builds its command: the run's dbt vars (the Airflow
    Variable, the run's param, the holidays they configure) as the operator's vars. None set: no
    --vars, so dbt keeps its partial parse."""
    from baton.airflow.tasks import dbt_vars_for_task
    from baton.build.dbt import effective_vars

    vars = run_option(lambda: effective_vars(dbt_vars_for_task(context.get("params"))))
    if vars:
        operator.vars = {**(operator.vars or {}), **vars}


def _dbt_task_group(manifest):
    """One Cosmos task per seed and model, each model's tests after it, all into the shadow schemas."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import InvocationMode, LoadMode, TestBehavior

    project = ProjectConfig(dbt_project_path=DBT_PROJECT_DIR, manifest_path=manifest, project_name="baton")
    # Cosmos wraps the path in Airflow's ObjectStoragePath, whose first read loads every Airflow
    # plugin (seconds); the manifest is a local file, so read it as one.
    project.manifest_path = manifest
    return DbtTaskGroup(
        group_id="dbt",
        project_config=project,
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.BUILD),
        profile_config=ProfileConfig(profile_name="baton", target_name="warehouse",
                                     profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml"),
        execution_config=ExecutionConfig(invocation_mode=InvocationMode.DBT_RUNNER),
        operator_args={
            # as_of as BATON_AS_OF (dbt_project/macros/as_of.sql), not --vars: a new instant keeps partial parse.
            "env": {"BATON_SCHEMA_SUFFIX": SHADOW_SUFFIX, "BATON_AS_OF": "{{ ti.xcom_pull(task_ids='as_of') }}",
                    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
            "append_env": True,
            "install_deps": False,
            "pre_execute": _warehouse_in_environment,
            "interceptors": [_dbt_vars_for_cosmos],
            # A run's full_refresh param: `--full-refresh` on every seed and model (templated at run time).
            "full_refresh": "{{ params.get('full_refresh', False) }}",
        },
        default_args={**DEFAULT_ARGS, "on_failure_callback": [_release_lease, _alert]},
    )
