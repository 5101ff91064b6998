"""The few SQL spellings Baton's Python code needs that differ by engine (dbt's own live in dispatched macros)."""

from __future__ import annotations


def json_text(kind: str, column: str, key: str) -> str:
    """A top-level field of a raw record's JSON as text."""
    if kind == "spark":
        return f"get_json_object({column}, '$.{key}')"
    return f"({column} ->> '{key}')"


def digits_only(kind: str, expression: str) -> str:
    """The expression is all decimal digits (an id that casts to bigint)."""
    if kind == "spark":
        return f"({expression} rlike '^[0-9]+$')"
    if kind == "duckdb":
        return f"regexp_full_match({expression}, '[0-9]+')"
    return f"({expression} ~ '^[0-9]+$')"
