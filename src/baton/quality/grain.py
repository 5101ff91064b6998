"""The marts' grain checks, re-run by the gate on the generation it is about to publish.

A mart's grain (one row per person, per month × leak type × owner team, ...) is defined once:
as the dbt test in its `_<area>__models.yml` (`unique` on its key, or the project's
`unique_combination_of_columns`). `dbt build` runs those tests right after each model, but the
shadow can change between the build and the gate (a retried task, a hand fix, another writer),
so the gate runs the same tests again, through `dbt test`, against the schemas it checks. Nothing
is restated here: the selection names dbt's own tests, and their SQL is what dbt compiles.

Each test becomes one correctness result (severity `error`) in quality.validation_runs, named
after the mart and dbt's test (`marts.rpt_funnel_leak_summary: unique_combination_of_columns_...`).
A mart not present in the checked schema is skipped, like a suite whose relation does not exist.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime

from baton.instants import iso_z
from baton.paths import DBT_PROJECT_DIR, state_path
from baton.quality.gx_runner import CheckResult

log = logging.getLogger("baton.quality")

# The generic tests that state a grain (a unique key, single or compound).
GRAIN_TESTS = ("unique", "unique_combination_of_columns")
MARTS_PATH = "models/marts"
GATE_TARGET = "gate"  # .baton/dbt/gate/: the gate's own dbt target (partial parse kept between runs)


def mart_names() -> list[str]:
    """Every mart the project builds: the models under models/marts/ (dim_*, fct_*, rpt_*)."""
    return sorted(path.stem for path in (DBT_PROJECT_DIR / MARTS_PATH).rglob("*.sql"))


def grain_selection() -> list[str]:
    """dbt selectors for the marts' grain tests: each grain test, intersected with the marts folder."""
    return [f"test_name:{name},path:{MARTS_PATH}" for name in GRAIN_TESTS]


def grain_tests_by_mart(manifest: dict) -> dict[str, list[dict]]:
    """{mart: [its grain test nodes]} from a dbt manifest (the marts with no grain test map to [])."""
    marts = {unique_id: node["name"] for unique_id, node in manifest["nodes"].items()
             if node["resource_type"] == "model" and node["original_file_path"].startswith(MARTS_PATH + "/")}
    by_mart: dict[str, list[dict]] = {name: [] for name in marts.values()}
    for node in manifest["nodes"].values():
        metadata = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and metadata.get("name") in GRAIN_TESTS \
                and node.get("attached_node") in marts:
            by_mart[marts[node["attached_node"]]].append(node)
    return by_mart


def run_grain_checks(warehouse_url: str, *, as_of: datetime, schema_suffix: str,
                     present: set[str]) -> list[CheckResult]:
    """`dbt test` of every mart's grain tests on marts<suffix>; one CheckResult per test of a present mart."""
    from baton.build.dbt import dbt

    if not present:
        return []
    started = time.monotonic()
    outcome = dbt(["test", "--select", *grain_selection()], warehouse_url, vars={"as_of": iso_z(as_of)},
                  target_name=GATE_TARGET, schema_suffix=schema_suffix)
    manifest_path = state_path("dbt", GATE_TARGET, "target", "manifest.json")
    if not manifest_path.is_file():
        return [_unrunnable(schema_suffix, outcome.exception or "dbt wrote no manifest")]
    tests = {node["unique_id"]: (mart, node)
             for mart, nodes in grain_tests_by_mart(json.loads(manifest_path.read_text())).items() for node in nodes}
    schema = f"marts{schema_suffix}"
    results = []
    for item in outcome.results:
        mart, node = tests.get(item["unique_id"], (None, None))
        if mart is None or mart not in present:
            continue  # not a grain test, or a mart this schema does not hold (skipped, like a suite)
        kwargs = (node.get("test_metadata") or {}).get("kwargs") or {}
        columns = kwargs.get("column_name") or ", ".join(kwargs.get("combination_of_columns") or [])
        status = item["status"]
        observed = {"unexpected_count": int(item["failures"] or 0)} if status in ("pass", "fail", "warn") \
            else {"error": ((item["message"] or status).strip().splitlines() or [status])[0][:300]}
        results.append(CheckResult(
            relation=f"marts.{mart}", checked_relation=f"{schema}.{mart}", check=item["name"],
            expectation_type=f"dbt_test:{node['test_metadata']['name']}", column=columns or None,
            severity="error", success=status == "pass", observed=observed))
    if not results and not outcome.success:
        results.append(_unrunnable(schema_suffix, outcome.exception or "no grain test ran"))
    log.info("grain checks: %d dbt tests on %d marts in %.1fs", len(results), len(present),
             time.monotonic() - started)
    return results


def _unrunnable(schema_suffix: str, error: str) -> CheckResult:
    """dbt could not run the grain tests at all: the grain is unchecked, so nothing is published."""
    return CheckResult(relation="marts", checked_relation=f"marts{schema_suffix}", check="grain_tests_ran",
                       expectation_type="dbt_test", column=None, severity="error", success=False,
                       observed={"error": str(error).strip().splitlines()[0][:300] if error else "dbt failed"})
