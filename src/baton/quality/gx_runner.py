"""Running the suites with Great Expectations 1.x from Baton's own code (no Airflow provider).

An in-memory context per run; its Data Docs site is written to `.baton/gx/data_docs/` on every
run (the history of results is kept in quality.validation_runs). The warehouse URL never lands in
GX's config files: the datasource reads it
from an environment variable GX substitutes at run time.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from baton.quality.suites import Suite, check_name, checked_schema, parameter_values, resolve, severity_of

log = logging.getLogger("baton.quality")

DATASOURCE = "baton_warehouse"
_URL_VARIABLE = "BATON_GX_WAREHOUSE_URL"
_OBSERVED_KEYS = ("observed_value", "element_count", "unexpected_count", "unexpected_percent",
                  "missing_count", "partial_unexpected_list")


@dataclass
class CheckResult:
    relation: str
    checked_relation: str
    check: str
    expectation_type: str
    column: str | None
    severity: str  # error | warn
    success: bool
    observed: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        detail = self.observed.get("error") or ", ".join(
            f"{key} {self.observed[key]}" for key in ("unexpected_count", "observed_value") if key in self.observed)
        return f"{self.relation}: {self.check}" + (f" ({detail})" if detail else "")


def quiet_gx_logging() -> None:
    """GX logs every metric at INFO; under Airflow that floods the task log."""
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context",
                 "great_expectations.expectations", "great_expectations.datasource"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@contextmanager
def _warehouse_url_in_env(url: str):
    saved = os.environ.get(_URL_VARIABLE)
    os.environ[_URL_VARIABLE] = url
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(_URL_VARIABLE, None)
        else:
            os.environ[_URL_VARIABLE] = saved


def sqlalchemy_url(warehouse_url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if warehouse_url.startswith(prefix):
            return "postgresql+psycopg2://" + warehouse_url[len(prefix):]
    return warehouse_url


def run_suites(warehouse_url: str, suites: list[Suite], *, as_of: datetime, schema_suffix: str,
               gx_root: Path, previous_row_counts: dict[str, int]) -> tuple[list[CheckResult], str | None]:
    """Validate each suite's relation; return one result per expectation and the Data Docs index."""
    if not suites:
        return [], None
    quiet_gx_logging()
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    with _warehouse_url_in_env(sqlalchemy_url(warehouse_url)):
        return _run(gx, ExpectationConfiguration, suites, as_of=as_of, schema_suffix=schema_suffix,
                    gx_root=gx_root, previous_row_counts=previous_row_counts)


def _run(gx, ExpectationConfiguration, suites, *, as_of, schema_suffix, gx_root, previous_row_counts):
    context = _context(gx, gx_root)
    datasource = context.data_sources.add_postgres(DATASOURCE, connection_string="${" + _URL_VARIABLE + "}")

    definitions, parameters, by_suite_name = [], {}, {}
    for suite in suites:
        asset = datasource.add_table_asset(suite.relation, table_name=suite.table,
                                           schema_name=checked_schema(suite.schema, schema_suffix))
        batch = asset.add_batch_definition_whole_table("whole_table")
        gx_suite = gx.ExpectationSuite(name=suite.relation, meta={"guards": suite.guards})
        for expectation in resolve(suite, schema_suffix=schema_suffix, as_of=as_of):
            # add_expectation compares whole expectations; the configuration upsert would merge
            # two SQL checks on one table into one (they share a "domain").
            gx_suite.add_expectation(ExpectationConfiguration(
                type=expectation["type"], kwargs=expectation["kwargs"], meta=expectation.get("meta"),
                description=expectation.get("description"),
                severity=expectation.get("severity", "critical")).to_domain_obj())
        gx_suite = context.suites.add(gx_suite)
        definitions.append(context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.relation, data=batch, suite=gx_suite)))
        parameters.update(parameter_values(suite, as_of=as_of, previous_row_count=previous_row_counts.get(suite.relation)))
        by_suite_name[suite.relation] = suite

    # Rendering Data Docs is half a gate run's time; BATON_QUALITY_DATA_DOCS=0 skips it (tests).
    build_docs = os.environ.get("BATON_QUALITY_DATA_DOCS", "1") not in ("0", "false", "no")
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name="baton_gate", validation_definitions=definitions, result_format="SUMMARY",
        actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")] if build_docs else []))
    outcome = checkpoint.run(expectation_parameters=parameters)

    results = []
    for validation in outcome.run_results.values():
        suite = by_suite_name[validation.suite_name]
        checked = f"{checked_schema(suite.schema, schema_suffix)}.{suite.table}"
        for item in validation.results:
            config = item.expectation_config
            expectation = {"type": config.type, "kwargs": config.kwargs, "meta": config.meta,
                           "severity": getattr(config.severity, "value", config.severity)}
            results.append(CheckResult(
                relation=suite.relation, checked_relation=checked, check=check_name(expectation),
                expectation_type=config.type, column=config.kwargs.get("column"),
                severity=severity_of(expectation), success=bool(item.success), observed=_observed(item)))
    docs = context.get_docs_sites_urls() if build_docs else []
    return results, (docs[0]["site_url"] if docs else None)


def _context(gx, gx_root: Path):
    """An in-memory context (suites, datasource, results) whose Data Docs site is a folder on disk.

    A file context rewrites its YAML on every asset added (quadratic in the number of suites);
    the suites live in expectations/ and the results in quality.validation_runs, so nothing else
    needs to persist. The docs show the latest run.
    """
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    docs_dir = Path(gx_root) / "data_docs"
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites={"local_site": {
            "class_name": "SiteBuilder", "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            # The results pages only: the suites are the JSON under expectations/, rendering them again doubles the time.
            "site_section_builders": {"expectations": "0", "profiling": "0"},
        }},
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _observed(item) -> dict:
    observed = {key: item.result[key] for key in _OBSERVED_KEYS if key in (item.result or {})}
    if "partial_unexpected_list" in observed:
        observed["partial_unexpected_list"] = observed["partial_unexpected_list"][:5]
    info = item.exception_info or {}
    if info and not info.get("raised_exception") and all(isinstance(v, dict) for v in info.values()):
        # Some expectations report exceptions per metric: {metric_id: {raised_exception, ...}}.
        info = next((v for v in info.values() if v.get("raised_exception")), {})
    if info.get("raised_exception"):
        # The first line says what went wrong (a missing column, a failed query); the trace is in GX's store.
        observed["error"] = str(info.get("exception_message") or "").strip().splitlines()[0][:300]
    return json.loads(json.dumps(observed, default=str))
