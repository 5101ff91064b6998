"""The settings an incremental build compares with the last build's (dbt_project/macros/incremental.sql,
incremental_setting_vars) are every var of dbt_project.yml that changes what a model computes.

A var missing from that list would let a changed threshold (sla_business_minutes, say) go
unnoticed by the next incremental build: the people it did not rebuild would keep rows judged by
the old value, where a full refresh judges them all by the new one.
"""

from __future__ import annotations

import re

import yaml

from baton.paths import DBT_PROJECT_DIR

# as_of moves every night (the as-of window handles it); the lookback changes what is re-read, not
# what a model computes.
NOT_SETTINGS = {"as_of", "incremental_lookback_minutes"}


def _listed_vars() -> set[str]:
    macros = (DBT_PROJECT_DIR / "macros" / "incremental.sql").read_text()
    body = re.search(r"macro incremental_setting_vars\(\).*?return\(\[(.*?)\]\)", macros, re.S)
    assert body, "incremental_setting_vars() not found"
    return set(re.findall(r"'([a-z_0-9]+)'", body.group(1)))


def test_every_project_var_but_as_of_is_an_incremental_setting():
    """Each var of dbt_project.yml, but as_of and the lookback, is in incremental_setting_vars(),
    and the list names no var the project does not declare."""
    declared = set(yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"])
    listed = _listed_vars()
    assert declared - NOT_SETTINGS - listed == set(), "vars an incremental build would not notice changing"
    assert listed - declared == set(), "listed vars dbt_project.yml does not declare"
