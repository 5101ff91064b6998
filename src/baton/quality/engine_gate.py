"""The quality gate on DuckDB and Spark: the same suites (expectations/) and grain tests, read through the engine.

Each suite's relation is read through the engine into a pandas frame and validated by Great
Expectations' pandas datasource (the suites, their severities and parameters are
baton.quality.suites', unchanged); an `unexpected_rows_expectation` (a SQL query over `{batch}`)
runs as SQL on the engine itself. The marts' grain is dbt's own tests (baton.quality.grain), run by
dbt on the engine. The verdict is kept in `.baton/gx/engine-gate-<run_id>.json`; a correctness failure
raises QualityGateFailed before anything is published, exactly as on PostgreSQL.

Not yet on these engines (docs/engines.md): quality.gate_runs / validation_runs tables, the
volume baseline from the previous passing run, quality.lead_context_flags.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import datetime, timezone

from baton.paths import EXPECTATIONS_DIR, state_path
from baton.quality.gate import QualityGateFailed, default_gx_root
from baton.quality.grain import mart_names, run_grain_checks
from baton.quality.gx_runner import CheckResult, _context, _observed, quiet_gx_logging
from baton.quality.suites import check_name, checked_schema, load_suites, parameter_values, resolve, severity_of

log = logging.getLogger("baton.quality")
SQL_EXPECTATION = "unexpected_rows_expectation"
_AS_OF = re.compile(r"\$\{as_of\}(::timestamptz)?")


def run_engine_gate(engine, *, as_of: datetime, schema_suffix: str, build_id: str | None = None) -> dict:
    as_of = as_of.astimezone(timezone.utc)
    run_id = uuid.uuid4().hex
    suites, frames = [], {}
    with engine.connect() as conn:
        for suite in load_suites(EXPECTATIONS_DIR):
            schema = checked_schema(suite.schema, schema_suffix)
            if engine.exists(conn, schema, suite.table):
                suites.append(suite)
                frames[suite.relation] = engine.frame(
                    conn, f"select * from {engine.ident(schema)}.{engine.ident(suite.table)}")
        marts = f"marts{schema_suffix}"
        present = {name for name in mart_names() if engine.exists(conn, marts, name)}
        results = _validate(engine, conn, suites, frames, as_of=as_of, schema_suffix=schema_suffix)
    results += run_grain_checks(engine.url, as_of=as_of, schema_suffix=schema_suffix, present=present)
    if not present:
        results.append(CheckResult(relation="marts", checked_relation=marts, check="marts_were_built",
                                   expectation_type="baton_schema_exists", column=None, severity="error",
                                   success=False, observed={"error": f"{marts} holds no mart"}))
    failed = [r for r in results if r.severity == "error" and not r.success]
    warnings = [r for r in results if r.severity == "warn" and not r.success]
    verdict = {"run_id": run_id, "engine": engine.kind, "as_of": as_of.isoformat(), "build_id": build_id,
               "checked_schema": marts, "checks": len(results), "errors": len(failed), "warnings": len(warnings),
               "relations": len(suites), "results": [vars(r) for r in results]}
    path = state_path("gx", f"engine-gate-{run_id}.json")
    path.write_text(json.dumps(verdict, default=str, indent=1))
    for r in warnings:
        log.warning("check warned: %s", r.summary)
    for r in failed:
        log.error("check failed: %s", r.summary)
    log.info("quality gate on %s %s: %s checks over %s relations, %s errors, %s warnings; results: %s", engine.kind,
             "failed" if failed else "passed", len(results), len(suites), len(failed), len(warnings), path)
    if failed:
        raise QualityGateFailed("correctness checks failed, marts not published: "
                                + "; ".join(r.summary for r in failed), [f"{r.relation}: {r.check}" for r in failed])
    return {key: value for key, value in verdict.items() if key != "results"} | {"verdict": str(path)}


def _validate(engine, conn, suites, frames, *, as_of, schema_suffix) -> list[CheckResult]:
    if not suites:
        return []
    quiet_gx_logging()
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context = _context(gx, default_gx_root())  # gx_runner's: no progress bars, Data Docs folder
    datasource = context.data_sources.add_pandas("baton_engine")
    results = []
    for suite in suites:
        checked = f"{checked_schema(suite.schema, schema_suffix)}.{suite.table}"
        expectations = resolve(suite, schema_suffix=schema_suffix, as_of=as_of)
        parameters = parameter_values(suite, as_of=as_of, previous_row_count=None)
        gx_suite = gx.ExpectationSuite(name=suite.relation)
        for expectation in expectations:
            if expectation["type"] == SQL_EXPECTATION:
                results.append(_sql_check(engine, conn, suite, checked, expectation, as_of))
                continue
            gx_suite.add_expectation(ExpectationConfiguration(
                type=expectation["type"], kwargs=expectation["kwargs"], meta=expectation.get("meta"),
                severity=expectation.get("severity", "critical")).to_domain_obj())
        if not gx_suite.expectations:
            continue
        gx_suite = context.suites.add(gx_suite)
        batch = datasource.add_dataframe_asset(suite.relation).add_batch_definition_whole_dataframe("whole")
        definition = context.validation_definitions.add(gx.ValidationDefinition(name=suite.relation, data=batch,
                                                                               suite=gx_suite))
        outcome = definition.run(batch_parameters={"dataframe": frames[suite.relation]},
                                 expectation_parameters=parameters, result_format="SUMMARY")
        for item in outcome.results:
            config = item.expectation_config
            expectation = {"type": config.type, "kwargs": config.kwargs, "meta": config.meta,
                           "severity": getattr(config.severity, "value", config.severity)}
            results.append(CheckResult(relation=suite.relation, checked_relation=checked, check=check_name(expectation),
                                       expectation_type=config.type, column=config.kwargs.get("column"),
                                       severity=severity_of(expectation), success=bool(item.success),
                                       observed=_observed(item)))
    return results


def _sql_check(engine, conn, suite, checked, expectation, as_of) -> CheckResult:
    """An unexpected-rows query run on the engine: passes when it returns no row."""
    query = expectation["kwargs"]["unexpected_rows_query"]
    instant = f"timestamp '{as_of.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
    query = _AS_OF.sub(instant, query).replace("{batch}", checked)
    try:
        count = conn.execute(f"select count(*) from ({query}) unexpected").fetchone()[0]
        observed, success = {"unexpected_count": int(count)}, count == 0
    except Exception as error:
        observed, success = {"error": str(error).strip().splitlines()[0][:300]}, False
    return CheckResult(relation=suite.relation, checked_relation=checked, check=check_name(expectation),
                       expectation_type=expectation["type"], column=None, severity=severity_of(expectation),
                       success=success, observed=observed)
