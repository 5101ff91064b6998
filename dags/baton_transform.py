"""baton_transform: build the warehouse with dbt (through Cosmos), check it, publish it atomically, send the digest.

Scheduled on the Assets the extract DAGs publish: it runs when every raw schema has been
updated since its last run. Asset-triggered runs have no data interval, so the as-of instant
is the latest watermark the loaders recorded (the data's own "now").

    as_of → prepare → dbt (one task per seed and model, its tests after it, into the shadow
    schemas) → mark_built → check_and_publish (quality gate, then one-transaction schema swap)
    → digest

A correctness failure stops at check_and_publish: the marts analysts query stay the previous
run's, and the task's error names every failed check (docs/quality.md).

Parsing runs no dbt and touches no database: the dbt graph comes from the manifest the last
`prepare` task wrote (`dbt parse`, trimmed to what rendering reads:
.baton/dbt/manifest/render_manifest.json; Cosmos LoadMode.DBT_MANIFEST). In a fresh clone,
before any run wrote one, the group falls back to a single task running the whole `dbt build`
(Cosmos' own file parser, LoadMode.CUSTOM, cannot read this project's `{% do %}` macros, and
`dbt ls` at parse time would take far over 2 s). A model added to the project gets its own
task from the run after the one that first parsed it. `BATON_DBT_TASKS=single` keeps the
single task (each Cosmos task pays ~10 s of dbt start-up, which only parallel workers win back).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import Asset, dag, task

from baton.assets import MARTS_ASSET_URI, SOURCES, raw_asset_uri
from baton.paths import DBT_PROJECT_DIR, REPO_ROOT

SHADOW_SUFFIX = "_shadow"  # baton.publish.SHADOW_SUFFIX (not imported: keeps parsing light)
DBT_PARSE_TARGET = "manifest"  # .baton/dbt/manifest/: dbt parse's target (and partial-parse state)
MANIFEST = Path(os.environ.get("BATON_STATE_DIR", REPO_ROOT / ".baton")) / "dbt" / DBT_PARSE_TARGET / "render_manifest.json"
DEFAULT_ARGS = {"owner": "baton", "retries": 2, "retry_delay": timedelta(minutes=2),
                "retry_exponential_backoff": True}


def _warehouse_in_environment(context) -> None:
    """Before each dbt task: the fields profiles.yml reads, from WAREHOUSE_URL or warehouse_default.

    Set in the task's own process at run time, so no credential is ever part of the DAG.
    """
    from baton.tasks import warehouse_url_for_task
    from baton.warehouse import dbt_env

    os.environ.update(dbt_env(warehouse_url_for_task()))


def _dbt_task_group():
    """One Cosmos task per seed and model, each model's tests after it, all into the shadow schemas."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import InvocationMode, LoadMode, TestBehavior

    project = ProjectConfig(dbt_project_path=DBT_PROJECT_DIR, manifest_path=MANIFEST, project_name="baton")
    # Cosmos wraps the path in Airflow's ObjectStoragePath, whose first read loads every Airflow
    # plugin (seconds); the manifest is a local file, so read it as one.
    project.manifest_path = MANIFEST
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
        },
        default_args=DEFAULT_ARGS,
    )


@dag(
    dag_id="baton_transform",
    schedule=[Asset(raw_asset_uri(source)) for source in SOURCES],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["baton", "transform", "dbt", "quality"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def baton_transform():
    @task
    def as_of() -> str:
        from baton import tasks

        return tasks.loaded_as_of().isoformat()

    @task
    def prepare() -> dict:
        """Raw tables exist; the shadow is clean or last published; the manifest for the next parse is fresh."""
        from baton.paths import state_path
        from baton.quality.nightly import prepare as prepare_shadow
        from baton.quality.nightly import write_render_manifest
        from baton.tasks import warehouse_url_for_task
        from baton.transform import dbt

        url = warehouse_url_for_task()
        prepared = prepare_shadow(url)
        # Parsed with the suffix, so the manifest names the shadow relations mark_built keeps.
        parsed = dbt(["parse"], url, target_name=DBT_PARSE_TARGET, schema_suffix=SHADOW_SUFFIX)
        if parsed.success:
            write_render_manifest(state_path("dbt", DBT_PARSE_TARGET, "target", "manifest.json"), MANIFEST)
        return prepared

    @task
    def dbt_build(as_of_instant: str) -> dict:
        """The whole dbt build as one task: only until a run has written the manifest."""
        from baton.quality.nightly import dbt_build_into_shadow
        from baton.tasks import _instant, warehouse_url_for_task

        result = dbt_build_into_shadow(warehouse_url_for_task(), as_of=_instant(as_of_instant), target_name="transform")
        return {"nodes": len(result.results)}

    @task
    def mark_built(as_of_instant: str) -> str:
        from baton.publish import mark_built as stamp
        from baton.tasks import _instant, warehouse_url_for_task

        return stamp(warehouse_url_for_task(), as_of=_instant(as_of_instant),
                     manifest_path=MANIFEST if MANIFEST.is_file() else None)

    @task(outlets=[Asset(MARTS_ASSET_URI)])
    def check_and_publish(build_id: str, as_of_instant: str) -> dict:
        from baton.quality.gate import QualityGateFailed
        from baton.quality.nightly import check_and_publish as gate_and_publish
        from baton.tasks import _instant, warehouse_url_for_task

        try:
            return gate_and_publish(warehouse_url_for_task(), as_of=_instant(as_of_instant), digest=False)
        except QualityGateFailed as failure:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(failure)) from failure  # same data, same verdict: no retry

    @task
    def digest(published: dict, as_of_instant: str) -> dict:
        from baton.notify import post_digest
        from baton.tasks import _instant, warehouse_url_for_task

        return post_digest(warehouse_url_for_task(), as_of=_instant(as_of_instant))

    instant = as_of()
    prepared = prepare()
    per_model = MANIFEST.is_file() and os.environ.get("BATON_DBT_TASKS", "per_model") != "single"
    build = _dbt_task_group() if per_model else dbt_build(instant)
    built = mark_built(instant)
    instant >> prepared >> build >> built
    digest(check_and_publish(built, instant), instant)


baton_transform()
