"""Expected attribution credits, worked out in Python from docs/warehouse.md and docs/attribution.md.

Written from the definitions, not from the dbt models, and sharing nothing with them: the tests
compare fct_attribution with what this module says, opportunity by opportunity, to 1e-9.

    credits = expected_credits(opportunities, touches, as_of=...)
    credits[(opportunity_id, touchpoint_id, model)] -> credit (0 for a touch the model gives nothing)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "full_path", "time_decay")

# Position weights per model (docs/warehouse.md); "rest" is shared by the touches holding none of
# the model's positions. FT first touch, LC lead creation, OC opportunity creation, CW closed won.
POSITION_MODELS: dict[str, tuple[dict[str, float], float]] = {
    "first_touch": ({"FT": 1.0}, 0.0),
    "last_touch": ({"OC": 1.0}, 0.0),
    "linear": ({}, 1.0),
    "u_shaped": ({"FT": 0.4, "LC": 0.4}, 0.2),
    "w_shaped": ({"FT": 0.3, "LC": 0.3, "OC": 0.3}, 0.1),
    "full_path": ({"FT": 0.225, "LC": 0.225, "OC": 0.225, "CW": 0.225}, 0.1),
}


@dataclass(frozen=True)
class Touch:
    touchpoint_id: str
    person_id: str
    touched_at: datetime
    is_form_fill: bool


@dataclass(frozen=True)
class Opportunity:
    opportunity_id: str
    created_at: datetime
    closed_at: datetime | None
    is_closed: bool
    is_won: bool
    amount: float | None
    people: frozenset[str]


def _sort_key(touch: Touch) -> tuple:
    # Time, then touchpoint id compared as bytes.
    return (touch.touched_at, touch.touchpoint_id.encode())


def _positional_credits(path: list[Touch], holders: dict[str, Touch | None],
                        weights: dict[str, float], rest_share: float) -> dict[str, float]:
    raw = {touch.touchpoint_id: 0.0 for touch in path}
    holding = set()
    for position, weight in weights.items():
        holder = holders.get(position)
        if holder is not None:
            raw[holder.touchpoint_id] += weight
            holding.add(holder.touchpoint_id)
    rest = [touch for touch in path if touch.touchpoint_id not in holding]
    for touch in rest:
        raw[touch.touchpoint_id] += rest_share / len(rest)
    total = sum(raw.values())
    return {touchpoint_id: weight / total for touchpoint_id, weight in raw.items()}


def _time_decay_credits(path: list[Touch], created_at: datetime, half_life_days: float) -> dict[str, float]:
    raw = {}
    for touch in path:
        days_before = (created_at - touch.touched_at).total_seconds() / 86400
        raw[touch.touchpoint_id] = 2.0 ** (-days_before / half_life_days)
    total = sum(raw.values())
    return {touchpoint_id: weight / total for touchpoint_id, weight in raw.items()}


def paths(opportunity: Opportunity, touches_of_people: list[Touch], *, as_of: datetime,
          lookback_days: float = 365) -> tuple[list[Touch], list[Touch]]:
    """The touches up to the opportunity's creation, and those of the full path (to close / as-of)."""
    start = opportunity.created_at - timedelta(days=lookback_days)
    if opportunity.is_closed:
        full_path_end = opportunity.closed_at if opportunity.closed_at is not None else as_of
    else:
        full_path_end = as_of
    full_path_end = min(max(full_path_end, opportunity.created_at), as_of)
    seen = [touch for touch in touches_of_people if touch.touched_at <= as_of]
    to_creation = sorted((t for t in seen if start <= t.touched_at <= opportunity.created_at), key=_sort_key)
    to_close = sorted((t for t in seen if start <= t.touched_at <= full_path_end), key=_sort_key)
    return to_creation, to_close


def _holders(path: list[Touch], opportunity: Opportunity, *, with_closed_won: bool) -> dict[str, Touch | None]:
    if not path:
        return {}
    before_creation = [t for t in path if t.touched_at <= opportunity.created_at]
    form_fills = [t for t in before_creation if t.is_form_fill]
    holders: dict[str, Touch | None] = {
        "FT": path[0],
        "LC": form_fills[0] if form_fills else path[0],
        "OC": before_creation[-1] if before_creation else None,
        "CW": None,
    }
    if with_closed_won and opportunity.is_won:
        close = opportunity.closed_at if opportunity.closed_at is not None else path[-1].touched_at
        before_close = [t for t in path if t.touched_at <= close]
        holders["CW"] = before_close[-1] if before_close else None
    return holders


def expected_credits(opportunities: Iterable[Opportunity], touches: Iterable[Touch], *, as_of: datetime,
                     lookback_days: float = 365, half_life_days: float = 7,
                     position_models: dict[str, tuple[dict[str, float], float]] | None = None,
                     ) -> dict[tuple[str, str, str], float]:
    """(opportunity_id, touchpoint_id, model) → credit for every touch in each model's path.

    `position_models` replaces the default weights of the models it names.
    """
    models_weights = {**POSITION_MODELS, **(position_models or {})}
    by_person: dict[str, list[Touch]] = defaultdict(list)
    for touch in touches:
        by_person[touch.person_id].append(touch)
    credits: dict[tuple[str, str, str], float] = {}
    for opportunity in opportunities:
        if opportunity.created_at > as_of:
            continue
        mine = [touch for person in sorted(opportunity.people) for touch in by_person.get(person, ())]
        to_creation, to_close = paths(opportunity, mine, as_of=as_of, lookback_days=lookback_days)
        for model in MODELS:
            if model == "time_decay":
                if to_creation:
                    shares = _time_decay_credits(to_creation, opportunity.created_at, half_life_days)
                else:
                    shares = {}
            else:
                path = to_close if model == "full_path" else to_creation
                if not path:
                    continue
                weights, rest_share = models_weights[model]
                holders = _holders(path, opportunity, with_closed_won=(model == "full_path"))
                shares = _positional_credits(path, holders, weights, rest_share)
            for touchpoint_id, credit in shares.items():
                credits[(opportunity.opportunity_id, touchpoint_id, model)] = credit
    return credits


def expected_money(credits: dict[tuple[str, str, str], float],
                   opportunities: Iterable[Opportunity]) -> dict[tuple[str, str, str], tuple[float, float]]:
    """(opportunity, touch, model) → (pipeline credit, revenue credit)."""
    by_id = {opportunity.opportunity_id: opportunity for opportunity in opportunities}
    money = {}
    for key, credit in credits.items():
        opportunity = by_id[key[0]]
        amount = opportunity.amount or 0.0
        money[key] = (credit * amount, credit * amount if opportunity.is_won else 0.0)
    return money
