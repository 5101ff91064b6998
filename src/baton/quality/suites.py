"""The expectation suites in `expectations/`, one JSON file per relation they guard.

A suite file is Great Expectations' own suite JSON (`name`, `expectations`: `type`, `kwargs`,
`severity`, `meta`), with three Baton conventions:

- `severity`: `critical` guards correctness (an error: the marts are not published),
  `warning` describes the data (a warning: the run goes on, the result is recorded).
- `meta.check`: the check's short name, used in validation_runs and in the run's error.
- Run-time values as GX parameters, named for what they mean: `as_of_minus_48h` (freshness
  floor), `previous_row_count_minus_50pct` (volume floor against the last passing run). In
  SQL checks (`unexpected_rows_query`), `${marts}`, `${staging}`, `${intermediate}` name the
  schema being checked (the shadow, before a publish) and `${as_of}` the run's instant.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from baton.build.publish import DBT_SCHEMAS
from baton.paths import EXPECTATIONS_DIR

_AS_OF_MINUS = re.compile(r"^as_of_minus_(\d+)h$")
_PREVIOUS_ROWS_MINUS = re.compile(r"^previous_row_count_minus_(\d+)pct$")
_TOKEN = re.compile(r"\$\{(\w+)\}")


@dataclass(frozen=True)
class Suite:
    relation: str  # as analysts name it: marts.dim_people
    guards: str
    expectations: tuple[dict, ...]
    path: Path

    @property
    def schema(self) -> str:
        return self.relation.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.relation.split(".", 1)[1]


def load_suites(directory: Path = EXPECTATIONS_DIR) -> list[Suite]:
    suites = []
    for path in sorted(Path(directory).glob("*.json")):
        raw = json.loads(path.read_text())
        relation = raw.get("meta", {}).get("relation") or raw["name"]
        if f"{relation}.json" != path.name:
            raise ValueError(f"{path.name}: a suite is named after the relation it guards ({relation})")
        suites.append(Suite(relation, raw.get("meta", {}).get("guards", ""), tuple(raw["expectations"]), path))
    return suites


def checked_schema(schema: str, schema_suffix: str) -> str:
    """dbt's schemas are checked in their shadow before a publish; raw and quality schemas as they are."""
    return f"{schema}{schema_suffix}" if schema in DBT_SCHEMAS else schema


def check_name(expectation: dict) -> str:
    meta_name = (expectation.get("meta") or {}).get("check")
    if meta_name:
        return meta_name
    kwargs = expectation.get("kwargs", {})
    target = kwargs.get("column") or ",".join(kwargs.get("column_list", []))
    return f"{expectation['type']}({target})" if target else expectation["type"]


def severity_of(expectation: dict) -> str:
    return "warn" if expectation.get("severity", "critical") in ("warning", "info") else "error"


def resolve(suite: Suite, *, schema_suffix: str, as_of: datetime) -> list[dict]:
    """The suite's expectations with schema tokens filled in and parameters made unique to the suite."""
    values = {schema: '"' + checked_schema(schema, schema_suffix) + '"' for schema in DBT_SCHEMAS}
    values["as_of"] = "'" + as_of.isoformat() + "'"
    resolved = []
    for expectation in suite.expectations:
        expectation = copy.deepcopy(expectation)
        kwargs = expectation["kwargs"]
        if "unexpected_rows_query" in kwargs:
            kwargs["unexpected_rows_query"] = _TOKEN.sub(lambda m: values[m.group(1)], kwargs["unexpected_rows_query"])
        for key, value in kwargs.items():
            if isinstance(value, dict) and "$PARAMETER" in value:
                kwargs[key] = {"$PARAMETER": parameter_key(suite, value["$PARAMETER"])}
        resolved.append(expectation)
    return resolved


def parameter_key(suite: Suite, name: str) -> str:
    # One checkpoint runs every suite with one parameter dict: prefix each name with its relation.
    return re.sub(r"\W", "_", suite.relation) + "__" + name


def parameter_values(suite: Suite, *, as_of: datetime, previous_row_count: int | None) -> dict:
    """Values for every parameter the suite names, keyed as `resolve` renamed them."""
    values = {}
    for expectation in suite.expectations:
        for value in expectation["kwargs"].values():
            if not (isinstance(value, dict) and "$PARAMETER" in value):
                continue
            name = value["$PARAMETER"]
            if match := _AS_OF_MINUS.match(name):
                # ISO text: GX turns a datetime parameter naive and then cannot compare it with timestamptz.
                values[parameter_key(suite, name)] = (as_of - timedelta(hours=int(match.group(1)))).isoformat()
            elif match := _PREVIOUS_ROWS_MINUS.match(name):
                floor = 0 if previous_row_count is None else math.floor(
                    previous_row_count * (1 - int(match.group(1)) / 100))
                values[parameter_key(suite, name)] = floor
            else:
                raise ValueError(f"{suite.path.name}: unknown parameter {name!r}")
    return values
