"""`baton metrics`: the semantic layer (dbt semantic models + MetricFlow metrics) from the command line.

    baton metrics list
    baton metrics query --metrics handoffs,sla_breach_rate --group-by metric_time__month
    baton metrics query --metrics funnel_leaks --group-by leak__leak_type \\
        --where "{{ Dimension('owner__team') }} = 'Sales Development'" --order=-funnel_leaks
    baton metrics query --saved-query leaks_by_type_and_week
    baton metrics validate

The definitions live in dbt_project/models/semantic/ (docs/analysts.md). MetricFlow runs in
process on the warehouse `WAREHOUSE_URL` names (else the embedded one): `dbt parse` writes the
semantic manifest under .baton/dbt/metrics/ with the warehouse fields in the environment (no
profile to edit), and MetricFlow's SQL runs through psycopg. Results print as CSV.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

TARGET_NAME = "metrics"


def register(subcommands) -> None:
    metrics = subcommands.add_parser("metrics", help="query and validate the metrics of the semantic layer (MetricFlow)")
    actions = metrics.add_subparsers(dest="metrics_action", metavar="ACTION", required=True)
    query = actions.add_parser("query", help="run metrics through MetricFlow and print CSV")
    query.add_argument("--metrics", default=None, help="comma-separated metric names (baton metrics list)")
    query.add_argument("--group-by", default=None,
                       help="comma-separated dimensions: metric_time__week, leak__leak_type, owner__team, ...")
    query.add_argument("--where", action="append", default=[],
                       help="a filter, e.g. \"{{ Dimension('leak__leak_type') }} = 'black_hole'\" (repeatable)")
    query.add_argument("--order", default=None,
                       help="comma-separated names to order by; a leading - sorts descending (--order=-funnel_leaks)")
    query.add_argument("--limit", type=int, default=None)
    query.add_argument("--saved-query", default=None, help="run a saved query (dbt_project/models/semantic/)")
    query.add_argument("--explain", action="store_true", help="print the SQL instead of running it")
    query.set_defaults(handler=_query_command)
    validate = actions.add_parser("validate", help="validate the semantic layer (MetricFlow's validate-configs)")
    validate.add_argument("--skip-warehouse", action="store_true",
                          help="only the semantic checks, not the queries against the warehouse")
    validate.set_defaults(handler=_validate_command)
    listing = actions.add_parser("list", help="list the metrics with their descriptions and dimensions")
    listing.set_defaults(handler=_list_command)


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _query_command(args) -> int:
    from baton.warehouse import warehouse_url

    if not args.metrics and not args.saved_query:
        print("baton metrics query: give --metrics or --saved-query", file=sys.stderr)
        return 2
    url = warehouse_url()
    if args.explain:
        print(explain_metrics(url, _split(args.metrics), group_by=_split(args.group_by), where=args.where,
                              order=_split(args.order), limit=args.limit, saved_query=args.saved_query))
        return 0
    result = query_metrics(url, _split(args.metrics), group_by=_split(args.group_by), where=args.where,
                           order=_split(args.order), limit=args.limit, saved_query=args.saved_query)
    result.write_csv(sys.stdout)
    return 0


def _validate_command(args) -> int:
    from baton.warehouse import warehouse_url

    issues = validate_metrics(warehouse_url(), warehouse=not args.skip_warehouse)
    for issue in issues:
        print(issue)
    if issues:
        print(f"baton metrics validate: {len(issues)} blocking issue(s)", file=sys.stderr)
        return 1
    print("baton metrics validate: the semantic layer is valid"
          + ("" if args.skip_warehouse else " and every model, dimension, entity and metric queries the warehouse"))
    return 0


def _list_command(args) -> int:
    from baton.warehouse import warehouse_url

    for metric in list_metrics(warehouse_url()):
        print(f"{metric['name']}: {metric['description']}")
        print(f"    dimensions: {', '.join(metric['dimensions'])}")
    return 0


# -- the semantic manifest and the engine ------------------------------------------------------


def semantic_manifest_path(warehouse_url: str) -> Path:
    """`dbt parse` the project (partial parse keeps it quick) and return its semantic_manifest.json."""
    from baton.build.dbt import dbt
    from baton.paths import state_path

    _quiet_metricflow()
    result = dbt(["parse", "--quiet"], warehouse_url, target_name=TARGET_NAME)
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
    return state_path("dbt", TARGET_NAME, "target", "semantic_manifest.json")


def _quiet_metricflow() -> None:
    # MetricFlow logs every plan at INFO; the CSV on stdout must stay clean.
    import logging

    for name in ("metricflow", "metricflow_semantics", "dbt_metricflow"):
        logging.getLogger(name).setLevel(logging.WARNING)


def load_semantic_manifest(warehouse_url: str):
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest

    return parse_manifest_from_dbt_generated_manifest(semantic_manifest_path(warehouse_url).read_text())


class PostgresSqlClient:
    """MetricFlow's SqlClient over psycopg: the engine renders PostgreSQL and reads rows back."""

    def __init__(self, warehouse_url: str):
        import psycopg
        from metricflow.protocols.sql_client import SqlEngine
        from metricflow.sql.render.postgres import PostgresSQLSqlPlanRenderer

        self._conn = psycopg.connect(warehouse_url, autocommit=True)
        self._engine = SqlEngine.POSTGRES
        self._renderer = PostgresSQLSqlPlanRenderer()

    @property
    def sql_engine_type(self):
        return self._engine

    @property
    def sql_plan_renderer(self):
        return self._renderer

    @staticmethod
    def _params(bind_parameters) -> dict:
        params = getattr(bind_parameters, "param_dict", None) or {}
        return {key: getattr(value, "value", value) for key, value in params.items()}

    def query(self, stmt: str, sql_bind_parameter_set=None):
        from metricflow.data_table.mf_table import MetricFlowDataTable

        with self._conn.cursor() as cursor:
            cursor.execute(stmt, self._params(sql_bind_parameter_set) or None)
            names = [column.name for column in cursor.description or ()]
            rows = [tuple(_plain(value) for value in row) for row in cursor.fetchall()]
        return MetricFlowDataTable.create_from_rows(column_names=names, rows=rows)

    def execute(self, stmt: str, sql_bind_parameter_set=None) -> None:
        self._conn.execute(stmt, self._params(sql_bind_parameter_set) or None)

    def dry_run(self, stmt: str, sql_bind_parameter_set=None) -> None:
        self._conn.execute("explain " + stmt, self._params(sql_bind_parameter_set) or None)

    def close(self) -> None:
        self._conn.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"%({bind_parameter_key})s"


def _plain(value):
    # MetricFlow's data table takes str, int, float, bool, datetime and None.
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


@contextmanager
def metricflow_engine(warehouse_url: str):
    """A MetricFlowEngine over the project's semantic manifest and the warehouse, its connection closed after."""
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    manifest = load_semantic_manifest(warehouse_url)
    client = PostgresSqlClient(warehouse_url)
    try:
        yield MetricFlowEngine(semantic_manifest_lookup=SemanticManifestLookup(manifest), sql_client=client)
    finally:
        client.close()


# -- query, explain, validate, list -------------------------------------------------------------


@dataclass
class MetricsResult:
    columns: list[str]
    rows: list[tuple]
    sql: str

    def as_dicts(self) -> list[dict]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def write_csv(self, stream) -> None:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([_csv_value(value) for value in row])


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if (value.hour, value.minute, value.second) == (0, 0, 0) else value.isoformat()
    if isinstance(value, float):
        return repr(round(value, 6)) if value != int(value) else str(int(value))
    return value


def _request(metrics: Sequence[str], group_by, where, order, limit, saved_query):
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    return MetricFlowQueryRequest.create(
        saved_query_name=saved_query, metric_names=list(metrics) or None, group_by_names=list(group_by or ()) or None,
        where_constraints=list(where or ()) or None, order_by_names=list(order or ()) or None, limit=limit)


def query_metrics(warehouse_url: str, metrics: Sequence[str], *, group_by: Sequence[str] = (),
                  where: Sequence[str] = (), order: Sequence[str] = (), limit: int | None = None,
                  saved_query: str | None = None) -> MetricsResult:
    """Run metrics through MetricFlow on the warehouse; columns are MetricFlow's (metric_time__week, leak__leak_type, ...)."""
    with metricflow_engine(warehouse_url) as engine:
        result = engine.query(mf_request=_request(metrics, group_by, where, order, limit, saved_query))
    table = result.result_df
    return MetricsResult(columns=list(table.column_names), rows=[tuple(row) for row in table.rows], sql=result.sql or "")


def explain_metrics(warehouse_url: str, metrics: Sequence[str], *, group_by: Sequence[str] = (),
                    where: Sequence[str] = (), order: Sequence[str] = (), limit: int | None = None,
                    saved_query: str | None = None) -> str:
    with metricflow_engine(warehouse_url) as engine:
        explained = engine.explain(mf_request=_request(metrics, group_by, where, order, limit, saved_query))
    return explained.sql_statement.without_descriptions.sql


def validate_metrics(warehouse_url: str, *, warehouse: bool = True) -> list[str]:
    """MetricFlow's `mf validate-configs`: the semantic checks, then (warehouse=True) a query per
    semantic model, dimension, entity, measure and metric. Returns the blocking issues."""
    from metricflow.validation.data_warehouse_model_validator import DataWarehouseModelValidator
    from metricflow_semantic_interfaces.validations.semantic_manifest_validator import SemanticManifestValidator

    manifest = load_semantic_manifest(warehouse_url)
    results = [SemanticManifestValidator().validate_semantic_manifest(manifest)]
    if warehouse and not results[0].has_blocking_issues:
        client = PostgresSqlClient(warehouse_url)
        try:
            validator = DataWarehouseModelValidator(sql_client=client)
            for check in (validator.validate_semantic_models, validator.validate_dimensions,
                          validator.validate_entities, validator.validate_simple_metrics, validator.validate_metrics):
                results.append(check(manifest, None))
        finally:
            client.close()
    return [issue.as_readable_str() for result in results for issue in (*result.errors, *result.future_errors)]


def list_metrics(warehouse_url: str) -> list[dict]:
    """Each metric with its description and the dimensions it can be grouped by (besides metric_time)."""
    with metricflow_engine(warehouse_url) as engine:
        metrics = engine.list_metrics()
    return [{"name": metric.name, "description": " ".join((metric.description or "").split()),
             "dimensions": sorted({dimension.dunder_name for dimension in metric.dimensions})}
            for metric in sorted(metrics, key=lambda m: m.name)]
