"""The planted truth: what the warehouse should find in a sandbox world, from its event log.

`compute_truth(store, as_of=None)` reads `store.events()` and `store.meta()` and applies docs/warehouse.md
sections 4-6 with their default thresholds, written here independently of the dbt models. The
one thing it reads from the world's records is where a handoff's CRM record points for the
firmographics it does not carry itself (a HubSpot contact's associated company, a Salesforce
contact's account), at as-of: the event log knows the contact's own fields, not the company's.
`export_truth(store, out_dir)` writes one JSON-lines
file per table. The event vocabulary is documented in world.py and docs/sandbox-world.md.

Decisions where the contract is silent (the same page lists them for the dbt side):
- Missing context is judged on the handoff's CRM record as the rep sees it on the page: a
  Salesforce contact's company, industry and employee count are its account's; a HubSpot
  contact's company, industry, employee count and country are its own property when present,
  else its primary associated company's (name, industry, numberofemployees, country); every other
  field is the record's own.
- A person's account at an instant is the latest `person_account` at or before it (named
  accounts by work-email domain from the person's creation; the converted contact's account).
- The owner of a touch-level leak (duplicate_outreach, existing_customer_prospected) is the user
  who made the touch; of a handoff-level leak, the owner at handoff; of `stalled`, the handoff
  record's latest owner.
- Attempts of an `accepted` or `open` handoff are all its sales touches up to as-of.
- detected_at: black_hole / slow_response at the instant the threshold passed; misrouted at the
  handoff's arrival in the CRM; premature_give_up / rejected_without_reason at the outcome;
  context_stripped at as-of; touch-level leaks at the first offending touch; stalled 30 days
  after the person's last touch or stage change.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

UTC = timezone.utc

SALES_ROLES = ("sdr", "ae")
NO_RESPONSE_REASONS = ("No Response", "Unresponsive")
CONVERTED_STAGES = ("sql", "opportunity", "customer")
CONTEXT_FIELDS = ("email", "company", "title", "industry", "employee_count", "country", "lead_source",
                  "marketing_touch_count", "last_marketing_touch_at")
BEHAVIOURAL_FIELDS = ("marketing_touch_count", "last_marketing_touch_at")
FIRMOGRAPHIC_FIELDS = ("company", "industry", "employee_count", "country")
EMPTY_VALUES = (None, "", "[not provided]")
# What the rep sees for a firmographic a record lacks: its account's or associated company's field.
SALESFORCE_ACCOUNT_FIELDS = {"company": "Name", "industry": "Industry", "employee_count": "NumberOfEmployees"}
HUBSPOT_COMPANY_FIELDS = {"company": "name", "industry": "industry", "employee_count": "numberofemployees",
                          "country": "country"}


def is_missing(value) -> bool:
    """docs/warehouse.md: null, empty or `[not provided]` (trimmed, any case) is missing."""
    return value is None or str(value).strip().lower() in ("", "[not provided]")


@dataclass(frozen=True)
class Thresholds:
    """docs/warehouse.md's defaults; every one is a dbt var on the warehouse side."""

    black_hole_business_days: int = 5
    sla_business_hours: int = 8
    premature_give_up_attempts: int = 5
    duplicate_outreach_days: int = 7
    stalled_days: int = 30
    attribution_lookback_days: int = 365
    no_response_reasons: tuple = NO_RESPONSE_REASONS


# -- business time -----------------------------------------------------------------------------

@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours on working days (default Mon-Fri 09:00-17:00 UTC, no holidays)."""

    day_start_hour: int = 9
    day_end_hour: int = 17
    working_weekdays: tuple = (0, 1, 2, 3, 4)
    holidays: frozenset = field(default_factory=frozenset)   # dates that are not worked
    tz: timezone = UTC

    @property
    def seconds_per_day(self) -> int:
        return (self.day_end_hour - self.day_start_hour) * 3600

    def _is_working(self, day: date) -> bool:
        return day.weekday() in self.working_weekdays and day not in self.holidays

    def _seconds_into_day(self, local: datetime) -> int:
        since_midnight = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        return min(max(since_midnight - self.day_start_hour * 3600, 0), self.seconds_per_day)

    def _working_seconds_before(self, instant: datetime) -> float:
        """Working seconds from a fixed Monday up to `instant` (a running total; differences count)."""
        local = instant.astimezone(self.tz)
        origin = date(2000, 1, 3)   # a Monday
        days = (local.date() - origin).days
        weeks, rest = divmod(days, 7)
        total = weeks * len(self.working_weekdays) * self.seconds_per_day
        total += sum(self.seconds_per_day for d in range(rest) if d in self.working_weekdays)
        total -= self.seconds_per_day * sum(1 for h in self.holidays
                                            if origin <= h < local.date() and h.weekday() in self.working_weekdays)
        if self._is_working(local.date()):
            total += self._seconds_into_day(local)
        return total

    def minutes_between(self, start: datetime, end: datetime) -> int:
        """Whole business minutes from start to end, rounded down (0 when end is not after start)."""
        if end <= start:
            return 0
        return int((self._working_seconds_before(end) - self._working_seconds_before(start)) // 60)

    def add_minutes(self, start: datetime, minutes: int) -> datetime:
        """The first instant at which `minutes` whole business minutes have passed since start."""
        target = self._working_seconds_before(start) + minutes * 60
        local = start.astimezone(self.tz)
        while True:
            day = local.date()
            if self._is_working(day):
                day_open = datetime(day.year, day.month, day.day, self.day_start_hour, tzinfo=self.tz)
                candidate = max(local, day_open)
                reached = self._working_seconds_before(candidate)
                needed = target - reached
                day_left = self.seconds_per_day - self._seconds_into_day(candidate)
                if needed <= day_left:
                    return (candidate + timedelta(seconds=needed)).astimezone(UTC)
            next_day = day + timedelta(days=1)
            local = datetime(next_day.year, next_day.month, next_day.day, tzinfo=self.tz)


# -- reading the log ---------------------------------------------------------------------------

def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _out(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _record_at(store, system: str, obj: str, record_id, as_of: datetime) -> dict | None:
    """The world's record as it stood at as_of (None when absent, deleted or archived)."""
    if record_id in (None, "") or not hasattr(store, "history"):
        return None
    versions = store.history(system, obj, str(record_id), as_of)
    if not versions or versions[-1].deleted:
        return None
    return versions[-1].record()


def _as_seen_on_the_page(store, crm: dict, fields: dict, as_of: datetime) -> dict:
    """The handoff record's context fields with the firmographics the rep reads off its company."""
    system, obj = crm.get("system"), crm.get("object")
    if system == "salesforce" and obj == "Contact":
        contact = _record_at(store, "salesforce", "Contact", crm.get("id"), as_of) or {}
        account = _record_at(store, "salesforce", "Account", contact.get("AccountId"), as_of) or {}
        return dict(fields, **{name: account.get(source) for name, source in SALESFORCE_ACCOUNT_FIELDS.items()})
    if system == "hubspot" and obj == "contacts":
        lacking = [name for name in HUBSPOT_COMPANY_FIELDS if is_missing(fields.get(name))]
        if not lacking:
            return fields
        contact = _record_at(store, "hubspot", "contacts", crm.get("id"), as_of) or {}
        primary = (contact.get("properties") or {}).get("associatedcompanyid") \
            or next(iter((contact.get("associations") or {}).get("companies") or ()), None)
        company = (_record_at(store, "hubspot", "companies", primary, as_of) or {}).get("properties") or {}
        return dict(fields, **{name: company.get(HUBSPOT_COMPANY_FIELDS[name]) for name in lacking})
    return fields


@dataclass
class _Handoff:
    person: str
    number: int
    at: datetime
    until: datetime | None = None       # the next handoff of the same person
    crm: dict | None = None             # the crm_handoff event that brought it to the CRM
    owner_now: str | None = None


def compute_truth(store, as_of: datetime | str | None = None, *, thresholds: Thresholds | None = None,
                  calendar: BusinessCalendar | None = None) -> dict[str, list[dict]]:
    """Every truth table, evaluated at `as_of` (default: the world's end)."""
    limits = thresholds or Thresholds()
    clock = calendar or BusinessCalendar()
    if as_of is None:
        as_of = store.meta("world_end")
    as_of = _instant(as_of) if isinstance(as_of, str) else as_of.astimezone(UTC)

    users: dict[str, dict] = {}
    people: dict[str, dict] = {}
    identities: dict[str, list[dict]] = defaultdict(list)
    accounts_won: dict[str, list[datetime]] = defaultdict(list)
    person_accounts: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    stages: dict[str, list[tuple[datetime, str, str, str | None]]] = defaultdict(list)
    crm_handoffs: dict[str, list[tuple[datetime, dict]]] = defaultdict(list)
    owner_changes: dict[tuple, list[tuple[datetime, str]]] = defaultdict(list)
    sales_touches: dict[str, list[tuple[datetime, dict]]] = defaultdict(list)
    marketing: dict[str, list[tuple[datetime, dict]]] = defaultdict(list)
    context: dict[tuple, dict] = {}
    opportunities: dict[tuple, dict] = {}

    for at_text, kind, data in store.events():
        at = _instant(at_text)
        if at > as_of:
            break
        if kind == "user_created":
            users[f"{data['system']}:{data['id']}"] = {"role": data["role"], "deactivated_at": None}
        elif kind == "user_deactivated":
            users[f"{data['system']}:{data['id']}"]["deactivated_at"] = at
        elif kind == "person_created":
            people[data["person"]] = dict(data, created_at=at)
        elif kind == "identity":
            identities[data["person"]].append({"source_system": data["system"], "source_object": data["object"],
                                               "source_id": data["id"], "is_deleted": False, "is_merged": False,
                                               "merged_into": None})
        elif kind in ("record_merged", "record_deleted"):
            for ident in identities[data["person"]]:
                if (ident["source_system"], ident["source_object"], ident["source_id"]) == \
                        (data["system"], data["object"], data["id"]):
                    ident["is_deleted"] = True
                    if kind == "record_merged":
                        ident["is_merged"] = True
                        ident["merged_into"] = data["into"]
        elif kind == "person_account":
            person_accounts[data["person"]].append((at, f"{data['system']}:{data['account']}"))
        elif kind == "stage_change":
            stages[data["person"]].append((at, data["stage"], data["system"], data.get("reason")))
        elif kind == "crm_handoff":
            crm_handoffs[data["person"]].append((at, data))
        elif kind == "owner_changed":
            owner_changes[(data["system"], data["object"], data["id"])].append((at, data["new"]))
        elif kind == "sales_touch":
            role = users.get(f"{data['system']}:{data['user']}", {}).get("role")
            if role in SALES_ROLES:
                sales_touches[data["person"]].append((at, dict(data, role=role)))
        elif kind == "marketing_touch":
            marketing[data["person"]].append((at, data))
        elif kind == "crm_context":
            context[(data["system"], data["object"], data["id"])] = data["fields"]
        elif kind == "opportunity_created":
            opportunities[(data["system"], data["id"])] = {
                "source_system": data["system"], "source_id": data["id"], "account_id": data["account"],
                "owner_id": data["owner"], "person_ids": [], "created_at": at, "closed_at": None,
                "is_closed": False, "is_won": False, "amount": data["amount"], "stage": None}
        elif kind == "contact_role_added":
            opp = opportunities[(data["system"], data["opportunity"])]
            if data["person"] not in opp["person_ids"]:
                opp["person_ids"].append(data["person"])
            opp.setdefault("roles", []).append((at, data["person"]))
        elif kind == "opportunity_stage":
            opportunities[(data["system"], data["id"])]["stage"] = data["stage"]
        elif kind == "opportunity_closed":
            opp = opportunities[(data["system"], data["id"])]
            opp.update(closed_at=at, is_closed=True, is_won=bool(data["won"]), amount=data["amount"])
            if data["won"]:
                accounts_won[f"{data['system']}:{data['account']}"].append(at)

    def role_of(system: str, user_id: str | None) -> str | None:
        return users.get(f"{system}:{user_id}", {}).get("role") if user_id else None

    def account_at(person: str, instant: datetime) -> str | None:
        current = None
        for at, account in person_accounts.get(person, ()):
            if at <= instant:
                current = account
        return current

    # -- handoffs: each entry into mql ----------------------------------------------------------
    handoffs: list[_Handoff] = []
    by_person: dict[str, list[_Handoff]] = defaultdict(list)
    for person, history in stages.items():
        for at, stage, _system, _reason in history:
            if stage == "mql":
                handoff = _Handoff(person, len(by_person[person]) + 1, at)
                if by_person[person]:
                    by_person[person][-1].until = at
                by_person[person].append(handoff)
                handoffs.append(handoff)
    for person, arrivals in crm_handoffs.items():
        for at, data in arrivals:
            for handoff in by_person.get(person, ()):
                if handoff.at <= at and (handoff.until is None or at < handoff.until) and handoff.crm is None:
                    handoff.crm = dict(data, at=at)
                    break

    def handoff_of(person: str, instant: datetime) -> _Handoff | None:
        current = None
        for handoff in by_person.get(person, ()):
            if handoff.at <= instant:
                current = handoff
        return current

    def hid(handoff: _Handoff | None) -> str | None:
        return None if handoff is None else f"{handoff.person}-H{handoff.number}"

    handoff_rows, leak_rows, missing_rows = [], [], []

    def leak(kind: str, person: str, handoff: _Handoff | None, owner: str | None, at: datetime, detail: str):
        leak_rows.append({"leak_type": kind, "person_id": person, "handoff_id": hid(handoff), "owner_id": owner,
                          "detected_at": _out(at), "detail": detail})

    sla_minutes = limits.sla_business_hours * 60
    black_hole_minutes = limits.black_hole_business_days * clock.seconds_per_day // 60
    for handoff in sorted(handoffs, key=lambda h: (h.at, h.person)):
        person = handoff.person
        within = [(at, touch) for at, touch in sales_touches.get(person, ())
                  if handoff.at <= at and (handoff.until is None or at < handoff.until)]
        outcome, outcome_at, reason, sal_at = None, None, None, None
        for at, stage, _system, stage_reason in stages[person]:
            if at <= handoff.at or (handoff.until is not None and at >= handoff.until):
                continue
            if stage in CONVERTED_STAGES:
                outcome, outcome_at = "converted", at
            elif stage == "disqualified":
                outcome = "no_response" if stage_reason in limits.no_response_reasons else "disqualified"
                outcome_at, reason = at, stage_reason
            elif stage == "recycled":
                outcome, outcome_at, reason = "recycled", at, stage_reason
            elif stage == "sal" and sal_at is None:
                sal_at = at
            if outcome:
                break
        if outcome is None:
            outcome, outcome_at = ("accepted", sal_at) if sal_at else ("open", None)
        final = outcome in ("converted", "no_response", "disqualified", "recycled")
        attempts = [t for t in within if not final or t[0] <= outcome_at]
        first = within[0] if within else None
        response_end = first[0] if first else as_of
        business_wait = clock.minutes_between(handoff.at, response_end)
        crm = handoff.crm or {}
        owner = crm.get("owner")
        system = crm.get("system")
        owner_role = role_of(system, owner) if system else None
        deactivated = users.get(f"{system}:{owner}", {}).get("deactivated_at") if owner else None
        owner_inactive = deactivated is not None and deactivated <= crm.get("at", handoff.at)
        expected = crm.get("expected_owner")
        misrouted_why = None
        if owner is None:
            misrouted_why = "no owner at handoff"
        elif owner_role == "queue":
            misrouted_why = "owned by a queue"
        elif owner_inactive:
            misrouted_why = "owned by an inactive user"
        elif expected is not None and owner != expected:
            misrouted_why = f"the account belongs to {expected}"
        fields = context.get((crm.get("system"), crm.get("object"), crm.get("id"))) if crm else None
        if fields is not None:
            fields = _as_seen_on_the_page(store, crm, fields, as_of)
        missing = [name for name in CONTEXT_FIELDS if fields is not None and is_missing(fields.get(name))]
        touches_before = sum(1 for at, _ in marketing.get(person, ()) if at < handoff.at)
        row = {
            "handoff_id": hid(handoff), "person_id": person, "handoff_number": handoff.number,
            "handed_off_at": _out(handoff.at), "crm_system": system, "crm_object": crm.get("object"),
            "crm_record_id": crm.get("id"), "reached_crm_at": _out(crm.get("at")), "owner_id": owner,
            "owner_role": owner_role, "expected_owner_id": expected, "is_misrouted": misrouted_why is not None,
            "first_sales_touch_at": _out(first[0]) if first else None,
            "first_sales_touch_owner_id": first[1]["user"] if first else None,
            "response_minutes": int((first[0] - handoff.at).total_seconds() // 60) if first else None,
            "response_business_minutes": clock.minutes_between(handoff.at, first[0]) if first else None,
            "is_sla_breached": business_wait > sla_minutes, "sales_touch_attempts": len(attempts),
            "outcome": outcome, "outcome_reason": reason, "outcome_at": _out(outcome_at),
            "marketing_touches_before_handoff": touches_before,
            "has_behavioural_context": fields is not None and not any(f in missing for f in BEHAVIOURAL_FIELDS),
            "has_firmographic_context": fields is not None and not any(f in missing for f in FIRMOGRAPHIC_FIELDS),
            "missing_context_fields": missing,
        }
        handoff_rows.append(row)
        # the handoff-level leaks
        total_wait = clock.minutes_between(handoff.at, as_of)
        black_hole = not within and total_wait > black_hole_minutes
        if black_hole:
            leak("black_hole", person, handoff, owner, clock.add_minutes(handoff.at, black_hole_minutes),
                 f"no sales touch in {total_wait} business minutes")
        elif business_wait > sla_minutes:
            leak("slow_response", person, handoff, owner, clock.add_minutes(handoff.at, sla_minutes),
                 f"first sales touch after {business_wait} business minutes" if first
                 else f"no sales touch yet after {business_wait} business minutes")
        if misrouted_why:
            leak("misrouted", person, handoff, owner, crm.get("at", handoff.at), misrouted_why)
        closed_out = outcome in ("no_response", "disqualified", "recycled")
        if closed_out and reason in limits.no_response_reasons and len(attempts) < limits.premature_give_up_attempts:
            leak("premature_give_up", person, handoff, owner, outcome_at,
                 f"closed as {reason!r} after {len(attempts)} sales touches")
        if closed_out and (reason is None or not str(reason).strip()):
            leak("rejected_without_reason", person, handoff, owner, outcome_at, f"{outcome} with no reason")
        if missing:
            leak("context_stripped", person, handoff, owner, as_of, "missing " + ", ".join(missing))
            for name in missing:
                missing_rows.append({"handoff_id": hid(handoff), "person_id": person, "owner_id": owner,
                                     "crm_system": system, "crm_record_id": crm.get("id"), "field_name": name})

    # -- touch-level leaks ---------------------------------------------------------------------
    window = timedelta(days=limits.duplicate_outreach_days)
    for person in sorted(sales_touches):
        touches = sales_touches[person]
        seen_duplicate, seen_customer = set(), set()
        for position, (at, touch) in enumerate(touches):
            handoff = handoff_of(person, at)
            key = hid(handoff)
            if key not in seen_duplicate:
                for earlier_at, earlier in touches[:position]:
                    if at - window <= earlier_at < at and earlier["user"] != touch["user"]:
                        seen_duplicate.add(key)
                        leak("duplicate_outreach", person, handoff, touch["user"], at,
                             f"{touch['user']} touched after {earlier['user']} within {window.days} days")
                        break
            if touch["role"] == "sdr" and key not in seen_customer:
                account = account_at(person, at)
                if account and any(won < at for won in accounts_won.get(account, ())):
                    seen_customer.add(key)
                    leak("existing_customer_prospected", person, handoff, touch["user"], at,
                         f"SDR {touch['user']} prospected a contact of customer {account}")

    # -- stalled people ------------------------------------------------------------------------
    quiet_since = as_of - timedelta(days=limits.stalled_days)
    for person in sorted(stages):
        history = stages[person]
        current_at, current_stage = history[-1][0], history[-1][1]
        if current_stage not in ("sal", "sql"):
            continue
        last_touch = max([at for at, _ in sales_touches.get(person, ())] +
                         [at for at, _ in marketing.get(person, ())] + [current_at])
        if last_touch <= quiet_since:
            handoff = handoff_of(person, as_of)
            owner = None
            if handoff is not None and handoff.crm:
                crm = handoff.crm
                owner = crm["owner"]
                for _at, new in owner_changes.get((crm["system"], crm["object"], crm["id"]), ()):
                    owner = new
            leak("stalled", person, handoff, owner, last_touch + timedelta(days=limits.stalled_days),
                 f"in {current_stage} since {_out(current_at)}, last activity {_out(last_touch)}")

    # -- people, stages, touchpoints, opportunities ---------------------------------------------
    people_rows = []
    for key in sorted(people):
        info = people[key]
        ids = identities.get(key, [])
        account = account_at(key, as_of)
        people_rows.append({
            "person_id": key, "email": info["email"].strip().lower(), "first_name": info["first_name"],
            "last_name": info["last_name"], "company": info["company"], "stack": info["stack"],
            "is_personal_email": info["personal_email"], "account": account,
            "identities": ids,
            "is_deleted": any(i["is_deleted"] and not i["is_merged"] for i in ids),
            "has_merged_records": any(i["is_merged"] for i in ids),
        })
    stage_rows = []
    for person in sorted(stages):
        history = stages[person]
        for position, (at, stage, system, reason) in enumerate(history):
            nxt = history[position + 1] if position + 1 < len(history) else None
            stage_rows.append({"person_id": person, "stage": stage, "entered_at": _out(at),
                               "exited_at": _out(nxt[0]) if nxt else None, "next_stage": nxt[1] if nxt else None,
                               "source_system": system, "reason": reason})
    touch_rows = []
    for person in sorted(marketing):
        for at, touch in marketing[person]:
            touch_rows.append({"person_id": person, "account": account_at(person, at), "touched_at": _out(at),
                               "touch_type": touch["type"], "channel": touch["channel"],
                               "campaign_id": touch["campaign"], "source_system": touch["system"],
                               "source_object": touch["object"], "source_id": touch["source_id"]})
    opportunity_rows, opportunity_touch_rows = [], []
    lookback = timedelta(days=limits.attribution_lookback_days)
    for key in sorted(opportunities, key=lambda k: (opportunities[k]["created_at"], k)):
        opp = opportunities[key]
        opp.pop("roles", None)
        opportunity_rows.append(dict(opp, created_at=_out(opp["created_at"]), closed_at=_out(opp["closed_at"])))
        path_end = opp["closed_at"] or as_of
        for person in opp["person_ids"]:
            for at, touch in marketing.get(person, ()):
                if opp["created_at"] - lookback <= at <= path_end:
                    opportunity_touch_rows.append({
                        "opportunity_source_system": opp["source_system"], "opportunity_source_id": opp["source_id"],
                        "person_id": person, "touched_at": _out(at), "touch_type": touch["type"],
                        "source_system": touch["system"], "source_id": touch["source_id"],
                        "before_opportunity_created": at <= opp["created_at"]})
    return {
        "people": people_rows,
        "handoffs": handoff_rows,
        "stage_transitions": stage_rows,
        "leaks": leak_rows,
        "touchpoints": touch_rows,
        "opportunities": opportunity_rows,
        "opportunity_touchpoints": opportunity_touch_rows,
        "missing_context": missing_rows,
    }


def summarize_truth(truth: dict[str, list[dict]], settled_before: str | None = None) -> dict:
    """The planted figures in a few numbers (shares of handoffs), for notes and the CLI.

    Shares about response and outcome are measured on handoffs handed off before
    `settled_before` (default: all), since the latest ones have not had time to play out."""
    handoffs = truth["handoffs"]
    settled = [h for h in handoffs if settled_before is None or h["handed_off_at"] < settled_before]
    contacted = [h for h in settled if h["first_sales_touch_at"]]
    worked_lost = [h for h in contacted if h["outcome"] != "converted"]
    converted = [h for h in handoffs if h["outcome"] == "converted"]
    closed = [h for h in handoffs if h["outcome"] in ("disqualified", "recycled", "no_response")]

    def share(rows, test):
        return round(sum(1 for r in rows if test(r)) / len(rows), 3) if rows else None

    leak_counts: dict[str, int] = defaultdict(int)
    for row in truth["leaks"]:
        leak_counts[row["leak_type"]] += 1
    return {
        "people": len(truth["people"]), "handoffs": len(handoffs), "settled_handoffs": len(settled),
        "misrouted": share(handoffs, lambda h: h["is_misrouted"]),
        "never_contacted": share(settled, lambda h: h["first_sales_touch_at"] is None),
        "first_response_over_5_business_days": share(contacted, lambda h: h["response_business_minutes"] > 2400),
        "gave_up_within_two_touches": share(worked_lost, lambda h: h["sales_touch_attempts"] <= 2),
        "worked_not_converted": share(contacted, lambda h: h["outcome"] != "converted"),
        "converted_with_5_plus_touches": share(converted, lambda h: h["sales_touch_attempts"] >= 5),
        "missing_behavioural_context": share(handoffs, lambda h: not h["has_behavioural_context"]),
        "missing_firmographic_context": share(handoffs, lambda h: not h["has_firmographic_context"]),
        "rejected_without_reason": share(closed, lambda h: not h["outcome_reason"]),
        "leaks": dict(sorted(leak_counts.items())),
    }


def export_truth(store, out_dir: str | Path, as_of: datetime | str | None = None) -> Path:
    """Write every truth table as `<table>.jsonl` (plus `as_of.json`) into out_dir; returns out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = compute_truth(store, as_of)
    for name, rows in tables.items():
        with open(out / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, sort_keys=True, default=str) + "\n")
    resolved = as_of if as_of is not None else store.meta("world_end")
    (out / "as_of.json").write_text(json.dumps({"as_of": str(resolved), "seed": store.meta("seed"),
                                                "people": store.meta("people")}) + "\n")
    (out / "summary.json").write_text(json.dumps(summarize_truth(tables), indent=2) + "\n")
    return out
