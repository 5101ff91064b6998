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
before any run wrote one, the chain falls back to a single task running the whole `dbt build`
(Cosmos' own file parser, LoadMode.CUSTOM, cannot read this project's `{% do %}` macros, and
`dbt ls` at parse time would take far over 2 s). A model added to the project gets its own
task from the run after the one that first parsed it. `BATON_DBT_TASKS=single` keeps the
single task (each Cosmos task pays ~10 s of dbt start-up, which only parallel workers win back).
"""

from __future__ import annotations

import os

from airflow.sdk import dag, task

from baton.airflow.dags import DEFAULT_ARGS, START_DATE, build_check_publish, raw_assets


@dag(
    dag_id="baton_transform",
    schedule=raw_assets(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["baton", "transform", "dbt", "quality"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def baton_transform():
    @task
    def as_of() -> str:
        from baton.airflow import tasks

        return tasks.data_as_of(None)

    build_check_publish(as_of(), per_model=os.environ.get("BATON_DBT_TASKS", "per_model") != "single")


baton_transform()
