"""The render manifest: what the transform DAG reads at parse time to lay out one task per dbt node."""

from __future__ import annotations

# What Cosmos reads of a manifest node (cosmos.dbt.graph), plus what mark_built reads (schema, alias, name).
_RENDER_KEYS = ("resource_type", "package_name", "depends_on", "original_file_path", "tags", "config",
                "freshness", "fqn", "name", "alias", "schema")


def write_render_manifest(full_manifest, render_manifest) -> dict:
    """A copy of dbt's manifest with only what rendering the DAG needs (a tenth of the size).

    Parsing the full manifest (SQL, columns, docs, every macro) was a third of the DAG file's
    import time; the DAG must import in under 2 s.
    """
    import json
    from pathlib import Path

    manifest = json.loads(Path(full_manifest).read_text())
    slim = {"metadata": {"project_name": manifest.get("metadata", {}).get("project_name")}}
    # Exposures are left out: Cosmos has no task for them (and warns once per exposure).
    for section in ("nodes", "sources"):
        slim[section] = {
            unique_id: {key: ({"nodes": node["depends_on"].get("nodes", [])} if key == "depends_on" else node[key])
                        for key in _RENDER_KEYS if key in node and node[key] is not None}
            for unique_id, node in (manifest.get(section) or {}).items()}
    target = Path(render_manifest)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps(slim, separators=(",", ":")))
    partial.replace(target)  # a DAG parse never reads half a file
    return {"nodes": len(slim["nodes"]), "bytes": target.stat().st_size}


def refresh_shipped_manifest(target=None) -> dict:
    """`dbt parse` of the project (into the shadow schemas, as the transform DAG builds), trimmed,
    into dbt_project/render_manifest.json: the file the package ships and every DAG parse reads.

    Parsing connects to no database; a test fails while the shipped file differs from a fresh parse
    (`python -m baton.build.manifest` refreshes it after a change to the project).
    """
    from baton.airflow.dags import DBT_PARSE_TARGET, SHADOW_SUFFIX
    from baton.build.dbt import dbt
    from baton.paths import RENDER_MANIFEST, state_path

    parsed = dbt(["parse", "--no-partial-parse"], "postgresql://postgres@127.0.0.1:5432/postgres",
                 target_name=DBT_PARSE_TARGET, schema_suffix=SHADOW_SUFFIX)
    if not parsed.success:
        raise RuntimeError("dbt parse failed; the render manifest was not refreshed")
    return write_render_manifest(state_path("dbt", DBT_PARSE_TARGET, "target", "manifest.json"), target or RENDER_MANIFEST)


if __name__ == "__main__":
    print(refresh_shipped_manifest())
