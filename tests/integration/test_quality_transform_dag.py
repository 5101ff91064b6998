"""baton_transform renders dbt through Cosmos from the trimmed manifest that ships in the package."""

from __future__ import annotations

import json

from baton.build.manifest import refresh_shipped_manifest, write_render_manifest
from baton.paths import DAGS_DIR, RENDER_MANIFEST


def node(kind: str, name: str, path: str, depends_on=(), schema="marts_shadow") -> dict:
    return {"resource_type": kind, "package_name": "baton", "name": name, "alias": name, "schema": schema,
            "original_file_path": path, "depends_on": {"nodes": list(depends_on), "macros": ["macro.baton.x"]},
            "tags": [], "config": {"materialized": "seed" if kind == "seed" else "table", "enabled": True},
            "fqn": ["baton", name], "raw_code": "select 1 -- " + "x" * 5000, "columns": {"id": {"name": "id"}},
            "description": "d" * 2000}


FULL_MANIFEST = {
    "metadata": {"project_name": "baton", "dbt_version": "1.11"},
    "nodes": {
        "seed.baton.stage_map": node("seed", "stage_map", "seeds/stage_map.csv", schema="staging_shadow"),
        "model.baton.dim_people": node("model", "dim_people", "models/marts/core/dim_people.sql",
                                       ["seed.baton.stage_map"]),
        "model.baton.fct_touchpoints": node("model", "fct_touchpoints", "models/marts/core/fct_touchpoints.sql",
                                            ["model.baton.dim_people"]),
        "test.baton.not_null_dim_people_person_id": node("test", "not_null_dim_people_person_id",
                                                         "models/marts/core/_core__models.yml",
                                                         ["model.baton.dim_people"]),
    },
    "sources": {},
    "macros": {f"macro.baton.m{n}": {"macro_sql": "{% macro m() %}" + "y" * 3000} for n in range(50)},
    "docs": {"doc.baton.overview": {"block_contents": "z" * 10000}},
}


def transform_dag(monkeypatch, state_dir, manifest=None):
    from airflow.dag_processing.dagbag import DagBag

    import baton.airflow.dags

    monkeypatch.setenv("BATON_STATE_DIR", str(state_dir))
    if manifest is not None:
        monkeypatch.setattr(baton.airflow.dags, "RENDER_MANIFEST", manifest)
    bag = DagBag(dag_folder=str(DAGS_DIR / "baton_transform.py"))
    assert bag.import_errors == {}
    return bag.dags["baton_transform"]


def test_the_render_manifest_keeps_what_rendering_and_publishing_read_and_little_else(tmp_path):
    full = tmp_path / "manifest.json"
    full.write_text(json.dumps(FULL_MANIFEST))
    render = tmp_path / "render_manifest.json"

    write_render_manifest(full, render)

    slim = json.loads(render.read_text())
    assert slim["metadata"] == {"project_name": "baton"}
    assert set(slim["nodes"]) == set(FULL_MANIFEST["nodes"])
    people = slim["nodes"]["model.baton.dim_people"]
    assert people["depends_on"] == {"nodes": ["seed.baton.stage_map"]}
    assert (people["schema"], people["alias"], people["config"]["materialized"]) == ("marts_shadow", "dim_people", "table")
    assert "raw_code" not in people and "columns" not in people and "macros" not in slim
    assert render.stat().st_size * 5 < full.stat().st_size


def test_with_a_manifest_each_model_and_seed_is_one_task_and_the_gate_follows_them_all(tmp_path, monkeypatch):
    full = tmp_path / "manifest.json"
    full.write_text(json.dumps(FULL_MANIFEST))
    write_render_manifest(full, tmp_path / "render_manifest.json")

    dag = transform_dag(monkeypatch, tmp_path, tmp_path / "render_manifest.json")

    dbt_tasks = {task.task_id for task in dag.tasks if task.task_id.startswith("dbt.")}
    assert dbt_tasks == {"dbt.stage_map_seed_build", "dbt.dim_people_model_build", "dbt.fct_touchpoints_model_build"}
    people = dag.get_task("dbt.dim_people_model_build")
    assert "dbt.stage_map_seed_build" in people.upstream_task_ids
    assert people.env["BATON_SCHEMA_SUFFIX"] == "_shadow" and "BATON_AS_OF" in people.env
    assert not any("PASSWORD" in key for key in people.env)  # credentials are set at run time only
    # mark_built waits for every dbt task (directly for the leaves, through them for the rest).
    assert dbt_tasks <= dag.get_task("mark_built").get_flat_relative_ids(upstream=True)
    assert dag.get_task("check_and_publish").upstream_task_ids == {"mark_built", "as_of"}
    assert "check_and_publish" in dag.get_task("digest").upstream_task_ids


def test_the_shipped_render_manifest_is_a_fresh_parse_of_the_project(tmp_path):
    fresh = tmp_path / "render_manifest.json"
    refresh_shipped_manifest(fresh)
    assert json.loads(fresh.read_text()) == json.loads(RENDER_MANIFEST.read_text()), \
        "dbt_project/render_manifest.json is stale: run .venv/bin/python -m baton.build.manifest"


def test_the_dag_renders_from_what_ships_whatever_the_state_folder_holds(tmp_path, monkeypatch):
    dag = transform_dag(monkeypatch, tmp_path)  # an empty state folder: no task ever wrote anything

    shipped = json.loads(RENDER_MANIFEST.read_text())
    models = {node["name"] for node in shipped["nodes"].values() if node["resource_type"] == "model"}
    rendered = {task.task_id for task in dag.tasks if task.task_id.startswith("dbt.")}
    assert {f"dbt.{name}_model_build" for name in models} <= rendered


def test_single_mode_runs_the_whole_build_as_one_task(tmp_path, monkeypatch):
    monkeypatch.setenv("BATON_DBT_TASKS", "single")
    dag = transform_dag(monkeypatch, tmp_path)

    assert not any(task.task_id.startswith("dbt.") for task in dag.tasks)
    assert dag.get_task("dbt_build").upstream_task_ids == {"prepare", "as_of"}
    assert dag.get_task("mark_built").upstream_task_ids == {"dbt_build", "as_of"}

