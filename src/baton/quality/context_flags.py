"""quality.lead_context_flags: the missing context of each handoff's CRM record, for sales ops.

The rule (which record, which fields, what counts as missing, how severe) is one dbt model,
intermediate.int_handoff_context_checks, which the context_stripped leak reads too; this module
only copies its missing rows into the quality schema, so the flags and the leak can never
disagree. Run by the gate against the build it judges (the shadow, before a publish).
"""

from __future__ import annotations

import logging
from datetime import datetime

log = logging.getLogger("baton.quality")

CHECKS_MODEL = "int_handoff_context_checks"


def refresh_lead_context_flags(conn, *, intermediate_schema: str, marts_schema: str, checked_at: datetime,
                               run_id: str) -> dict | None:
    """Replace quality.lead_context_flags with the build's missing context; None when it has no checks model."""
    checks = f'"{intermediate_schema}".{CHECKS_MODEL}'
    if conn.execute("select to_regclass(%s) is null", (checks,)).fetchone()[0]:
        log.info("lead context flags not refreshed: %s not built", checks)
        return None
    conn.execute("delete from quality.lead_context_flags")
    conn.execute(f"""
        insert into quality.lead_context_flags
            (handoff_id, person_id, owner_id, field_name, severity, checked_at, source_system, source_object,
             source_id, run_id)
        select handoff_id, person_id, owner_id, field_name, severity, %s, source_system, source_object,
               source_id, %s
        from {checks}
        where is_missing""", (checked_at, run_id))
    by_field = dict(conn.execute(
        "select field_name, count(*) from quality.lead_context_flags group by 1 order by 1").fetchall())
    handoffs, flagged = conn.execute(f"""
        select (select count(*) from "{marts_schema}".fct_handoffs),
               (select count(distinct handoff_id) from quality.lead_context_flags)""").fetchone()
    return {"handoffs": handoffs, "handoffs_flagged": flagged, "flags": sum(by_field.values()), "by_field": by_field}
