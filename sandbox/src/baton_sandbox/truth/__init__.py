"""The planted truth: what the warehouse should find in a sandbox world, worked out in Python
from docs/warehouse.md and the world's event log, sharing nothing with the dbt models.

- `core`: handoffs, leaks, missing context, stages, touchpoints, opportunities
  (`compute_truth`, `summarize_truth`, `export_truth`) and the business calendar.
- `attribution`: the expected attribution credits (`expected_credits`, `expected_money`).
"""

from baton_sandbox.truth.core import (
    BEHAVIOURAL_FIELDS,
    CONTEXT_FIELDS,
    CONVERTED_STAGES,
    EMPTY_VALUES,
    FIRMOGRAPHIC_FIELDS,
    NO_RESPONSE_REASONS,
    SALES_ROLES,
    BusinessCalendar,
    Thresholds,
    compute_truth,
    export_truth,
    summarize_truth,
)

__all__ = [
    "BEHAVIOURAL_FIELDS", "CONTEXT_FIELDS", "CONVERTED_STAGES", "EMPTY_VALUES", "FIRMOGRAPHIC_FIELDS",
    "NO_RESPONSE_REASONS", "SALES_ROLES", "BusinessCalendar", "Thresholds", "compute_truth", "export_truth",
    "summarize_truth",
]
