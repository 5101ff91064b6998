"""The leak types as the warehouse defines them: marts.dim_leak_types (from dbt's leak_types seed).

Label, rank (1 = most urgent) and a description with the thresholds in force are the
warehouse's, so the digest and the report never restate a rule or a default in Python.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeakType:
    leak_type: str
    label: str
    rank: int
    description: str


def read_leak_types(conn, marts_schema: str = "marts") -> dict[str, LeakType]:
    """Every leak type by name, most urgent first; empty when the marts are not built yet."""
    if not marts_schema.isidentifier():
        raise ValueError(f"not a schema name: {marts_schema!r}")
    relation = f"{marts_schema}.dim_leak_types"  # unquoted: Spark reads "..." as a string
    if not conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]:
        return {}
    rows = conn.execute(f"select leak_type, label, rank, description from {relation} order by rank, leak_type")
    return {row[0]: LeakType(*row) for row in rows.fetchall()}


def label_of(leak_types: dict[str, LeakType], leak_type: str) -> str:
    known = leak_types.get(leak_type)
    return known.label if known else leak_type


def rank_sql(leak_types: dict[str, LeakType], column: str = "leak_type") -> str:
    """A SQL expression ordering rows by the leak type's rank (unknown types last)."""
    if not leak_types:
        return "null::int"
    cases = " ".join(f"when '{name}' then {kind.rank}" for name, kind in leak_types.items()
                     if name.replace("_", "").isalnum())
    return f"case {column} {cases} else {max(k.rank for k in leak_types.values()) + 1} end"
