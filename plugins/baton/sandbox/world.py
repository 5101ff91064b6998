"""The sandbox world: a simulated B2B revenue org, written as vendor record versions plus an event log.

`build_world(path, people=3000, seed=7)` writes a SQLite world (see store.py). Every person is
simulated on their own `random.Random` stream and streamed into the store, so a million-version
world never sits in memory. Within a person, every change is an action on a small time-ordered
queue, so each record's versions are written in time order and carry the right snapshot.

Who lives here (docs/sandbox-world.md has the figures):
- Salesforce users with roles (Sales Development Rep, Account Executive, Sales Manager,
  Marketing), a lead queue, an inactive AE; HubSpot owners with teams (and one archived owner).
- Named accounts (Salesforce Accounts created before the world starts, owned by AEs), some
  already customers with a closed-won opportunity and one or two contacts from before the start;
  HubSpot companies, most of them owned.
- People on the Marketo + Salesforce stack, people living wholly in HubSpot (marketing and CRM),
  and people in Marketo and HubSpot at once (same email, differing in case or whitespace).
  Net-new companies hold exactly one person each, so an account created by a conversion never
  changes how a colleague's lead should have been routed.

Event vocabulary (`store.add_event(at, kind, data)`; the planted truth reads only these):
- `user_created` {system, id, name, email, role_name, role (sdr|ae|manager|marketing|queue), active}
- `user_deactivated` {system, id}
- `account_created` {system, id, name, domain, owner, is_customer}
- `person_created` {person, email, first_name, last_name, company, domain, personal_email, stack}
- `identity` {person, system, object, id}            a source record now belongs to the person
- `record_merged` {person, system, object, id, into}  that record was merged into another
- `record_deleted` {person, system, object, id}       that record (and the person) was deleted
- `person_account` {person, system, account}          the person's account from this instant
- `marketing_touch` {person, system, object, source_id, type, channel, campaign}
    type: form_fill | email_click | web_visit | campaign_response
- `stage_change` {person, stage, system, reason}      canonical stage entered (earliest sign)
- `crm_handoff` {person, system, object, id, owner, expected_owner}  the handoff reaches the CRM
- `owner_changed` {person, system, object, id, old, new}
- `sales_touch` {person, system, object, id, user, role, channel (call|email|meeting)}
- `other_activity` {person, system, object, id, user, role, why}  a logged activity that is no sales touch
- `activity_deleted` {person, system, object, id}   such an activity was deleted (Salesforce IsDeleted)
- `crm_context` {person, system, object, id, fields{email, company, title, industry,
    employee_count, country, lead_source, marketing_touch_count, last_marketing_touch_at}, why}
    the handoff record's context fields, written whenever one of them appears or disappears
- `converted` {person, lead, contact, account}
- `opportunity_created` {system, id, account, owner, amount, persons}
- `contact_role_added` {system, id, opportunity, person, contact}
- `opportunity_stage` {system, id, stage}
- `opportunity_closed` {system, id, account, won, amount}
"""

from __future__ import annotations

import heapq
import math
import random
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from baton.sandbox.catalog import (
    HUBSPOT_ASSOCIATIONS, HUBSPOT_PROPERTIES, MARKETO_LEAD_FIELDS, MARKETO_PROGRAM_FIELDS,
    SALESFORCE_API_VERSION, SALESFORCE_ID_PREFIX, SALESFORCE_OBJECTS,
)
from baton.sandbox.store import WorldStore

UTC = timezone.utc
NO_RESPONSE_REASONS = ("No Response", "Unresponsive")
DISQUALIFY_REASONS = ("Not a Fit", "No Budget", "Competitor", "Student", "Wrong Contact")
RECYCLE_REASONS = ("Bad Timing", "No Budget This Quarter", "Nurture Further")
PERSONAL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com")


@dataclass(frozen=True)
class WorldParams:
    """Every rate the world is built with; the defaults are the field's own figures (issue 3)."""

    misrouted_rate: float = 0.25            # handoffs routed to a queue, an inactive user or the wrong rep
    never_contacted_rate: float = 0.25      # handoffs no rep ever touches
    late_first_response_rate: float = 0.55  # of contacted handoffs: first touch after 5 business days
    give_up_after_one_follow_up_rate: float = 0.44  # not-sales-ready handoffs dropped after 1-2 touches
    long_pursuit_rate: float = 0.8          # sales-ready handoffs worked with 5+ touches before converting
    not_sales_ready_rate: float = 0.75      # handoffs that never convert
    duplicate_outreach_rate: float = 0.08   # contacted handoffs also touched by a second rep within a week
    sdr_prospects_customer_rate: float = 0.35  # contacts at customer accounts an SDR prospects anyway
    missing_behavioural_rate: float = 0.2   # CRM records whose behavioural summary is never filled
    missing_firmographic_rate: float = 0.06  # per firmographic field (title, industry, size, country): absent
    rejection_without_reason_rate: float = 0.15  # disqualified or recycled with a blank reason
    field_blanked_rate: float = 0.03        # CRM records that later lose their title or country
    mql_rate: float = 0.4                   # marketing people who reach MQL during the world
    requalify_rate: float = 0.35            # recycled people who qualify again (a new handoff)
    opportunity_after_sql_rate: float = 0.85
    win_rate: float = 0.35
    hubspot_only_share: float = 0.2         # people living wholly in HubSpot (marketing and CRM)
    marketo_and_hubspot_share: float = 0.08  # people in Marketo and HubSpot at once
    named_account_share: float = 0.35       # Marketo people working at a named Salesforce account
    personal_email_rate: float = 0.12       # net-new people signing up with a personal address
    marketo_duplicate_rate: float = 0.03    # people with a second Marketo lead, merged later
    hubspot_duplicate_rate: float = 0.03    # HubSpot people with a duplicate contact, merged later
    deleted_rate: float = 0.02              # never-qualified people deleted (Marketo lead / HubSpot contact)
    world_start: str = "2026-05-01T00:00:00Z"
    world_end: str = "2026-11-01T00:00:00Z"

    def __post_init__(self):
        for name, value in asdict(self).items():
            if name.endswith(("_rate", "_share")) and not 0.0 <= value <= 1.0:
                raise ValueError(f"WorldParams.{name} must be between 0 and 1, got {value!r}")
        if self.mql_rate >= 1.0:
            raise ValueError("WorldParams.mql_rate must stay below 1 (some people never qualify)")
        if self.hubspot_only_share + self.marketo_and_hubspot_share > 1.0:
            raise ValueError("WorldParams: hubspot_only_share + marketo_and_hubspot_share must not exceed 1")
        if parse_instant(self.world_end) <= parse_instant(self.world_start):
            raise ValueError("WorldParams.world_end must be after world_start")


# -- time ------------------------------------------------------------------------------------

def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def add_business_minutes(start: datetime, minutes: float) -> datetime:
    """The instant `minutes` business minutes (Mon-Fri 09:00-17:00 UTC) after `start`."""
    t = start
    remaining = minutes
    while True:
        day_open = t.replace(hour=9, minute=0, second=0, microsecond=0)
        day_close = t.replace(hour=17, minute=0, second=0, microsecond=0)
        if t.weekday() >= 5 or t >= day_close:
            t = day_open + timedelta(days=1)
            continue
        if t < day_open:
            t = day_open
        left_today = (day_close - t).total_seconds() / 60
        if remaining <= left_today:
            return t + timedelta(minutes=remaining)
        remaining -= left_today
        t = day_open + timedelta(days=1)


def whole_seconds(t: datetime) -> datetime:
    return t.replace(microsecond=0) if t.microsecond else t   # replace() is costly at a million calls


# World instants are whole UTC seconds; isoformat is much cheaper than strftime at a million records.
def sf_datetime(t: datetime) -> str:
    return t.isoformat()[:19] + ".000+0000"


def sf_date(t: datetime) -> str:
    return t.isoformat()[:10]


def mk_datetime(t: datetime) -> str:
    return t.isoformat()[:19] + "Z"


def hs_datetime(t: datetime) -> str:
    return t.isoformat()[:19] + ".000Z"


def epoch_ms(t: datetime) -> int:
    return int(t.timestamp()) * 1000


# -- ids -------------------------------------------------------------------------------------

_SF_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_id(prefix: str, number: int, pod: str = "Hs") -> str:
    """An 18-character Salesforce id: 15 characters plus the case-safe checksum suffix."""
    base = f"{prefix}{pod}{number:010d}"
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(base[chunk * 5:chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SF_SUFFIX_CHARS[bits]
    return base + suffix


class Ids:
    def __init__(self):
        self.counters: dict[str, int] = {}

    def next(self, key: str, start: int = 1) -> int:
        value = self.counters.get(key, start)
        self.counters[key] = value + 1
        return value

    def sf(self, obj: str) -> str:
        # LeadHistory and OpportunityFieldHistory share the 017 prefix: separate pods keep them apart.
        pod = {"LeadHistory": "Lh", "OpportunityFieldHistory": "Oh"}.get(obj, "Hs")
        return salesforce_id(SALESFORCE_ID_PREFIX[obj], self.next("sf:" + obj), pod)


# -- names -----------------------------------------------------------------------------------

FIRST_NAMES = ("Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Priya", "Lucas", "Chloe", "Omar", "Elena",
               "Mateo", "Hannah", "Kenji", "Sofia", "Daniel", "Amara", "Jonas", "Leila", "Victor", "Grace",
               "Tariq", "Nora", "Felix", "Ines", "Marcus", "Yara", "Hugo", "Clara", "Ravi", "Julia", "Samuel",
               "Mei", "Oscar", "Lina", "Tobias", "Aisha", "Pedro", "Freya", "Diego", "Anya", "Caleb")
LAST_NAMES = ("Garcia", "Nguyen", "Smith", "Patel", "Kim", "Müller", "Rossi", "Okafor", "Johansson", "Silva",
              "Cohen", "Tanaka", "Dubois", "Kowalski", "O'Brien", "Haddad", "Larsen", "Moreau", "Singh",
              "Fischer", "Novak", "Costa", "Walsh", "Ahmed", "Berg", "Lopez", "Meyer", "Ito", "Reyes", "Shah",
              "Murphy", "Yilmaz", "Andersen", "Ferreira", "Wong", "Baker")
COMPANY_HEADS = ("North", "Blue", "Iron", "Bright", "Silver", "Clear", "Red", "Summit", "Harbor", "Pine",
                 "Vertex", "Quantum", "Atlas", "Nimbus", "Cedar", "Lumen", "Orbit", "Granite", "Falcon", "Echo",
                 "Nova", "Prairie", "Beacon", "Sterling", "Maple", "Cobalt", "Aurora", "Delta", "Willow", "Apex")
COMPANY_TAILS = ("wind", "field", "stone", "works", "logic", "path", "bridge", "point", "scale", "loop",
                 "forge", "labs", "grid", "wave", "stack", "line", "gate", "ware", "shift", "base")
COMPANY_SUFFIXES = ("", " Group", " Systems", " Partners", " Holdings", " Technologies", " Solutions",
                    " Networks", " Dynamics", " Software")
INDUSTRIES = ("Software", "Financial Services", "Healthcare", "Manufacturing", "Retail", "Education",
              "Telecommunications", "Logistics", "Media", "Professional Services")
COUNTRIES = ("United States", "United States", "United States", "United Kingdom", "Germany", "France",
             "Canada", "Netherlands", "Australia", "Sweden", "Spain", "India")
TITLES = ("VP Marketing", "Director of Demand Generation", "Marketing Operations Manager", "CMO",
          "Head of Revenue Operations", "Sales Operations Analyst", "VP Sales", "Growth Marketing Manager",
          "Data Analyst", "CRO", "Marketing Manager", "Director of Sales Development")
LEAD_SOURCES = ("Website", "Paid Search", "Webinar", "Content Syndication", "Trade Show", "Partner Referral")
WEB_PAGES = ("/", "/product", "/pricing", "/customers", "/integrations", "/blog/funnel-leaks",
             "/blog/speed-to-lead", "/blog/attribution-models")
CHANNELS = ("call", "call", "call", "email", "email", "meeting")


def company_name(index: int) -> str:
    heads, tails = len(COMPANY_HEADS), len(COMPANY_TAILS)
    base = COMPANY_HEADS[index % heads] + COMPANY_TAILS[(index // heads) % tails]
    round_ = index // (heads * tails)
    suffix = COMPANY_SUFFIXES[round_ % len(COMPANY_SUFFIXES)]
    if round_ >= len(COMPANY_SUFFIXES):
        suffix += f" {round_ // len(COMPANY_SUFFIXES) + 1}"
    return base + suffix


def domain_of(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum()) + ".com"


def ascii_slug(text: str) -> str:
    table = str.maketrans({"ü": "u", "'": "", " ": ""})
    return text.lower().translate(table)


# -- the world's cast ------------------------------------------------------------------------

@dataclass
class User:
    system: str
    id: str
    name: str
    email: str
    role: str          # sdr | ae | manager | marketing | queue
    active: bool = True


@dataclass
class Company:
    index: int
    name: str
    domain: str
    industry: str
    employees: int
    country: str
    account_id: str | None = None    # Salesforce Account id (named accounts; net-new once converted)
    account_owner: User | None = None
    is_customer: bool = False
    account_rec: "Rec | None" = None
    hs_company_id: str | None = None
    hs_owner: User | None = None
    emails: set = field(default_factory=set)


class Rec:
    """One vendor record being written: its current data and the instant of its last version."""

    __slots__ = ("system", "object", "id", "data", "last")

    def __init__(self, system: str, object: str, id: str, data: dict):
        self.system, self.object, self.id, self.data = system, object, id, data
        self.last: datetime | None = None


@dataclass
class Program:
    id: int
    name: str
    type: str
    channel: str
    form_id: int | None = None
    form_name: str | None = None
    sf_campaign_id: str | None = None
    at: datetime | None = None  # webinars and trade shows: when they happen


@dataclass
class Person:
    index: int
    key: str
    rng: random.Random
    stack: str                      # marketo_sf | hubspot | marketo_sf_hubspot | customer_contact
    first: str
    last: str
    email: str
    title: str | None
    company: Company
    personal_email: bool
    created: datetime
    missing: set                    # firmographic fields absent on this person's records
    missing_behavioural: bool
    mk_lead: Rec | None = None
    mk_duplicate: Rec | None = None
    sf_lead: Rec | None = None
    sf_contact: Rec | None = None
    hs_contact: Rec | None = None
    hs_duplicate: Rec | None = None
    touches: int = 0
    last_touch_at: datetime | None = None
    score: int = 0
    stage: str | None = None
    deleted: bool = False
    lead_status_mk: str = "New"
    context_missing: frozenset | None = None
    queue: list = field(default_factory=list)
    seq: int = 0
    opportunity: Rec | None = None
    deal: Rec | None = None


# -- the builder -----------------------------------------------------------------------------

class WorldBuilder:
    def __init__(self, store: WorldStore, people: int, seed: int, params: WorldParams):
        self.store, self.people, self.seed, self.params = store, people, seed, params
        self.start = parse_instant(params.world_start)
        self.end = parse_instant(params.world_end)
        self.ids = Ids()
        self.rng = random.Random(f"{seed}:cast")
        self.round_robin: dict[str, int] = {}
        self.company_count = 0
        self.sf_user_recs: dict[str, Rec] = {}
        self.hs_owner_data: dict[str, dict] = {}
        self.customer_deal_done: set[int] = set()

    # ---- low-level writing ----------------------------------------------------------------
    def event(self, at: datetime, kind: str, **data) -> None:
        self.store.add_event(whole_seconds(at), kind, data)

    def add_version(self, system: str, obj: str, rid: str, at: datetime, data: dict, deleted: bool = False) -> None:
        """Records that have no Rec (activities, submissions, email events) go through here."""
        self.store.add_version(system, obj, rid, whole_seconds(at), data, deleted=deleted)

    def _version(self, rec: Rec, at: datetime, deleted: bool = False) -> datetime:
        at = whole_seconds(at)   # vendor timestamps have whole seconds; valid_from must equal them
        if rec.last is not None and at <= rec.last:
            at = rec.last + timedelta(seconds=1)   # one record never gets two versions in one second
        rec.last = at
        return at

    def sf_new(self, obj: str, at: datetime, fields: dict, *, created: datetime | None = None) -> Rec:
        rid = self.ids.sf(obj)
        data = {"attributes": {"type": obj, "url": f"/services/data/{SALESFORCE_API_VERSION}/sobjects/{obj}/{rid}"}}
        data.update({name: None for name in SALESFORCE_OBJECTS[obj]})
        data["Id"] = rid
        data.update(fields)
        if "IsDeleted" in data:
            data["IsDeleted"] = False
        rec = Rec("salesforce", obj, rid, data)
        at = self._version(rec, at)
        if "CreatedDate" in data:
            data["CreatedDate"] = sf_datetime(created or at)
        self._sf_stamp(rec, at)
        return rec

    def _sf_stamp(self, rec: Rec, at: datetime, deleted: bool = False) -> None:
        data = rec.data
        if "SystemModstamp" in data:
            data["LastModifiedDate"] = data["SystemModstamp"] = sf_datetime(at)
        if deleted:
            data["IsDeleted"] = True
        self.store.add_version("salesforce", rec.object, rec.id, at, data, deleted=deleted)

    def sf_update(self, rec: Rec, at: datetime, **changes) -> datetime:
        at = self._version(rec, at)
        rec.data.update(changes)
        self._sf_stamp(rec, at)
        return at

    def sf_history(self, obj: str, parent_field: str, parent: Rec, at: datetime, field_name: str,
                   old, new, by: User | str) -> None:
        self.sf_new(obj, at, {parent_field: parent.id, "Field": field_name, "OldValue": old, "NewValue": new,
                              "CreatedById": by if isinstance(by, str) else by.id})

    def mk_lead_write(self, rec: Rec, at: datetime, *, deleted: bool = False, **changes) -> datetime:
        at = self._version(rec, at)
        rec.data.update(changes)
        if rec.data["createdAt"] is None:
            rec.data["createdAt"] = mk_datetime(at)
        rec.data["updatedAt"] = mk_datetime(at)
        self.add_version("marketo", "lead", rec.id, at, rec.data, deleted=deleted)
        return at

    def mk_activity(self, at: datetime, lead: Rec, type_id: int, *, primary_id=None, primary=None,
                    campaign_id=None, attributes: dict | None = None) -> str:
        activity_id = self.ids.next("mk:activity", 5_000_001)
        guid = str(uuid.UUID(int=(self.seed * 1_000_003 + activity_id) % (1 << 128), version=4))
        data = {"id": activity_id, "marketoGUID": guid, "leadId": int(lead.id), "activityDate": mk_datetime(at),
                "activityTypeId": type_id, "campaignId": campaign_id, "primaryAttributeValueId": primary_id,
                "primaryAttributeValue": primary,
                "attributes": [{"name": k, "value": v} for k, v in (attributes or {}).items()]}
        self.add_version("marketo", "activity", str(activity_id), at, data)
        return str(activity_id)

    def hs_new(self, obj: str, at: datetime, properties: dict, *, associations: dict | None = None) -> Rec:
        rid = str(self.ids.next("hs:" + obj, {"contacts": 1001, "companies": 5001, "deals": 9001}.get(obj, 20001)))
        props = {name: None for name in HUBSPOT_PROPERTIES[obj]}
        props.update(properties)
        props["hs_object_id"] = rid
        props["createdate" if "createdate" in props else "hs_createdate"] = hs_datetime(at)
        assoc = {kind: [] for kind in HUBSPOT_ASSOCIATIONS.get(obj, ())}
        assoc.update(associations or {})
        rec = Rec("hubspot", obj, rid, {"id": rid, "properties": props, "createdAt": hs_datetime(at),
                                         "updatedAt": None, "archived": False, "associations": assoc})
        self.hs_write(rec, at)
        return rec

    def hs_write(self, rec: Rec, at: datetime, *, archived: bool = False, **changes) -> datetime:
        at = self._version(rec, at)
        props = rec.data["properties"]
        props.update({k: (None if v is None else str(v)) for k, v in changes.items()})
        props["lastmodifieddate" if "lastmodifieddate" in props else "hs_lastmodifieddate"] = hs_datetime(at)
        rec.data["updatedAt"] = hs_datetime(at)
        if archived:
            rec.data["archived"] = True
            rec.data["archivedAt"] = hs_datetime(at)
        self.add_version("hubspot", rec.object, rec.id, at, rec.data, deleted=archived)
        return at

    def pick(self, pool: list[User], key: str) -> User:
        """Round-robin assignment, as lead routing tools do."""
        position = self.round_robin.get(key, 0)
        self.round_robin[key] = position + 1
        return pool[position % len(pool)]

    # ---- the org ---------------------------------------------------------------------------
    def build_org(self) -> None:
        rng = self.rng
        org_created = self.start - timedelta(days=540)
        roles = {}
        for role_key, name, parent in (("manager", "Sales Manager", None), ("ae", "Account Executive", "manager"),
                                        ("sdr", "Sales Development Rep", "manager"), ("marketing", "Marketing", None)):
            rec = self.sf_new("UserRole", org_created, {"Name": name,
                                                         "ParentRoleId": roles[parent].id if parent else None})
            roles[role_key] = rec
        n_sdr = max(4, self.people // 400)
        n_ae = max(4, self.people // 500)
        cast = [("manager", 2), ("ae", n_ae), ("sdr", n_sdr), ("marketing", 1)]
        self.sf_users: dict[str, list[User]] = {"sdr": [], "ae": [], "manager": [], "marketing": []}
        person_names = iter(self._staff_names(rng, sum(n for _, n in cast) + 2))
        for role, count in cast:
            for _ in range(count):
                self.sf_users[role].append(self._sf_user(next(person_names), role, roles[role], org_created))
        self.sync_user = self._sf_user(("Marketo", "Sync"), "marketing", roles["marketing"], org_created)
        self.inactive_user = self._sf_user(next(person_names), "ae", roles["ae"], org_created)
        left = self.start - timedelta(days=45)
        self.sf_update(self.sf_user_recs[self.inactive_user.id], left, IsActive=False)
        self.inactive_user.active = False
        self.event(left, "user_deactivated", system="salesforce", id=self.inactive_user.id)
        queue = self.sf_new("Group", org_created, {"Name": "Inbound Lead Queue",
                                                    "DeveloperName": "Inbound_Lead_Queue", "Type": "Queue"})
        self.queue = User("salesforce", queue.id, "Inbound Lead Queue", "", "queue")
        self.event(org_created, "user_created", system="salesforce", id=queue.id, name="Inbound Lead Queue",
                   email=None, role_name="Queue", role="queue", active=True)

        # HubSpot owners: the same humans, other ids, teams instead of roles.
        teams = {"sdr": (1, "SDR Team"), "ae": (2, "Account Executives"), "manager": (3, "Sales Managers"),
                 "marketing": (4, "Marketing")}
        self.hs_owners: dict[str, list[User]] = {}
        for role, humans in self.sf_users.items():
            keep = humans[:max(2, len(humans) // 2)] if role in ("sdr", "ae") else humans[:1]
            self.hs_owners[role] = [self._hs_owner(h, role, teams[role], org_created) for h in keep]
        self.hs_inactive = self._hs_owner(self.inactive_user, "ae", teams["ae"], org_created)
        self.hs_inactive.active = False
        data = dict(self.hs_owner_data[self.hs_inactive.id], archived=True, updatedAt=hs_datetime(left))
        self.add_version("hubspot", "owners", self.hs_inactive.id, left, data, deleted=True)
        self.event(left, "user_deactivated", system="hubspot", id=self.hs_inactive.id)

    def _staff_names(self, rng: random.Random, count: int) -> list[tuple[str, str]]:
        names: list[tuple[str, str]] = []
        while len(names) < count:
            name = (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
            if name not in names:
                names.append(name)
        return names

    def _sf_user(self, name: tuple[str, str], role: str, role_rec: Rec, at: datetime) -> User:
        first, last = name
        email = f"{ascii_slug(first)}.{ascii_slug(last)}@baton-demo.com"
        rec = self.sf_new("User", at, {"Name": f"{first} {last}", "FirstName": first, "LastName": last,
                                       "Email": email, "IsActive": True, "UserRoleId": role_rec.id})
        self.sf_user_recs[rec.id] = rec
        user = User("salesforce", rec.id, f"{first} {last}", email, role)
        self.event(at, "user_created", system="salesforce", id=rec.id, name=user.name, email=email,
                   role_name=role_rec.data["Name"], role=role, active=True)
        return user

    def _hs_owner(self, human: User, role: str, team: tuple[int, str], at: datetime) -> User:
        owner_id = str(self.ids.next("hs:owner", 30_000_001))
        first, _, last = human.name.partition(" ")
        data = {"id": owner_id, "email": human.email, "firstName": first, "lastName": last,
                "userId": int(owner_id) + 1_000_000, "createdAt": hs_datetime(at), "updatedAt": hs_datetime(at),
                "archived": False, "teams": [{"id": str(team[0]), "name": team[1], "primary": True}]}
        self.hs_owner_data[owner_id] = data
        self.add_version("hubspot", "owners", owner_id, at, data)
        self.event(at, "user_created", system="hubspot", id=owner_id, name=human.name, email=human.email,
                   role_name=team[1], role=role, active=True)
        return User("hubspot", owner_id, human.name, human.email, role)

    # ---- marketing assets ------------------------------------------------------------------
    def build_programs(self) -> None:
        created = self.start - timedelta(days=400)
        specs = [("Newsletter", "Email", "Email Send", None), ("Website - Demo Request", "Default", "Website",
                 "Demo Request"), ("Website - Contact Us", "Default", "Website", "Contact Us"),
                 ("Content - Revenue Leak Report", "Default", "Content", "Ebook Download"),
                 ("Paid Search - Brand", "Default", "Paid Search", "Paid Search Landing")]
        self.programs: dict[str, Program] = {}
        for name, type_, channel, form in specs:
            self.programs[name] = self._program(name, type_, channel, form, created)
        # Monthly webinars and two trade shows, each mirrored by a Salesforce Campaign.
        self.events_calendar: list[Program] = []
        topics = ("Speed to Lead", "Attribution 101", "Funnel Leaks", "RevOps Playbook", "Lead Routing",
                  "Pipeline Hygiene", "Scoring That Works", "Closing the Loop", "Forecasting", "Data Quality")
        month = self.start - timedelta(days=150)
        for position, topic in enumerate(topics):
            at = month + timedelta(days=30 * position + 14, hours=16)
            while at.weekday() != 3:   # webinars run on Thursdays
                at += timedelta(days=1)
            program = self._program(f"Webinar - {topic}", "Event", "Webinar", "Webinar Registration",
                                    at - timedelta(days=40), when=at, campaign_type="Webinar")
            self.events_calendar.append(program)
        for position, show in enumerate(("Trade Show - RevOps Summit", "Trade Show - SaaS Connect")):
            at = self.start + timedelta(days=40 + 90 * position, hours=10)
            self.events_calendar.append(self._program(show, "Event", "Tradeshow", None, at - timedelta(days=60),
                                                      when=at, campaign_type="Conference"))
        # Email send calendar: the newsletter every other Tuesday, from well before the world starts.
        self.email_sends: list[tuple[datetime, str]] = []
        at = self.start - timedelta(days=120)
        while at.weekday() != 1:
            at += timedelta(days=1)
        at = at.replace(hour=15)
        number = 1
        while at < self.end:
            self.email_sends.append((at, f"Newsletter #{number}"))
            at += timedelta(days=14)
            number += 1
        # HubSpot's own marketing: forms and email campaigns.
        self.hs_forms = {}
        for name, channel in (("Demo Request", "website"), ("Contact Us", "website"),
                              ("Ebook Download", "content"), ("Webinar Registration", "webinar"),
                              ("Newsletter Signup", "email")):
            guid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            self.hs_forms[name] = (guid, channel)
            self.add_version("hubspot", "forms", guid, created,
                                   {"id": guid, "name": name, "createdAt": hs_datetime(created),
                                    "updatedAt": hs_datetime(created)})
        self.hs_campaigns = [(t + timedelta(hours=2), 7_000_001 + n) for n, (t, _) in enumerate(self.email_sends)]

    def _program(self, name, type_, channel, form, created, *, when=None, campaign_type=None) -> Program:
        program_id = self.ids.next("mk:program", 1001)
        form_id = self.ids.next("mk:form", 2001) if form else None
        program = Program(program_id, name, type_, channel, form_id, form, at=when)
        data = {f: None for f in MARKETO_PROGRAM_FIELDS}
        data.update(id=program_id, name=name, type=type_, channel=channel, status="" if type_ != "Event" else "Completed",
                    createdAt=mk_datetime(created), updatedAt=mk_datetime(created))
        self.add_version("marketo", "program", str(program_id), created, data)
        if campaign_type or type_ == "Email":
            campaign = self.sf_new("Campaign", created, {
                "Name": name, "Type": campaign_type or "Email", "Status": "Completed" if when else "In Progress",
                "StartDate": sf_date(when or created), "EndDate": sf_date(when) if when else None, "IsActive": True})
            program.sf_campaign_id = campaign.id
        return program

    # ---- companies -------------------------------------------------------------------------
    def new_company(self, rng: random.Random) -> Company:
        index = self.company_count
        self.company_count += 1
        name = company_name(index)
        return Company(index, name, domain_of(name), rng.choice(INDUSTRIES),
                       int(math.exp(rng.uniform(math.log(8), math.log(20_000)))), rng.choice(COUNTRIES))

    def build_accounts(self) -> None:
        rng = self.rng
        self.named: list[Company] = []
        n_named = max(10, self.people // 25)
        for position in range(n_named):
            company = self.new_company(rng)
            created = self.start - timedelta(days=rng.uniform(380, 520), seconds=rng.randrange(86400))
            company.account_owner = self.pick(self.sf_users["ae"], "account-owner")
            company.is_customer = position % 5 < 2  # two in five named accounts are already customers
            company.account_rec = self.sf_new("Account", whole_seconds(created), {
                "Name": company.name, "Website": f"https://www.{company.domain}", "Industry": company.industry,
                "NumberOfEmployees": company.employees, "BillingCountry": company.country,
                "Type": "Customer" if company.is_customer else "Prospect", "OwnerId": company.account_owner.id})
            company.account_id = company.account_rec.id
            self.event(company.account_rec.last, "account_created", system="salesforce", id=company.account_id,
                       name=company.name, domain=company.domain, owner=company.account_owner.id,
                       is_customer=company.is_customer)
            self.named.append(company)
        self.hs_companies: list[Company] = []
        for position in range(max(8, self.people // 60)):
            company = self.new_company(rng)
            created = whole_seconds(self.start - timedelta(days=rng.uniform(200, 500)))
            company.hs_owner = self.pick(self.hs_owners["ae"], "hs-company-owner") if position % 5 < 3 else None
            rec = self.hs_new("companies", created, {
                "name": company.name, "domain": company.domain, "industry": company.industry,
                "numberofemployees": str(company.employees), "country": company.country,
                "hubspot_owner_id": company.hs_owner.id if company.hs_owner else None, "lifecyclestage": "lead"})
            company.hs_company_id = rec.id
            self.event(created, "account_created", system="hubspot", id=rec.id, name=company.name,
                       domain=company.domain, owner=company.hs_owner.id if company.hs_owner else None,
                       is_customer=False)
            self.hs_companies.append(company)

    # ---- people ----------------------------------------------------------------------------
    def make_person(self, index: int, stack: str, company: Company | None, created: datetime) -> Person:
        rng = random.Random(f"{self.seed}:person:{index}")
        personal = False
        if company is None:
            company = self.new_company(rng)
            personal = rng.random() < self.params.personal_email_rate
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{ascii_slug(first)}.{ascii_slug(last)}"
        if personal:
            email = f"{local}{index}@{rng.choice(PERSONAL_DOMAINS)}"
        else:
            email = f"{local}@{company.domain}"
            suffix = 2
            while email in company.emails:
                email = f"{local}{suffix}@{company.domain}"
                suffix += 1
            company.emails.add(email)
        if rng.random() < 0.1:   # some people type their address with capitals
            email = email[0].upper() + email[1:]
        missing = {f for f in ("title", "industry", "employee_count", "country")
                   if rng.random() < self.params.missing_firmographic_rate}
        if personal and rng.random() < 0.5:
            missing.add("company")
        return Person(index, f"P{index + 1:06d}", rng, stack, first, last, email,
                      None if "title" in missing else rng.choice(TITLES), company, personal,
                      whole_seconds(created), missing, rng.random() < self.params.missing_behavioural_rate)

    def schedule(self, person: Person, at: datetime, action, *args) -> None:
        person.seq += 1
        heapq.heappush(person.queue, (whole_seconds(at), person.seq, action, args))

    def run(self, person: Person) -> None:
        while person.queue:
            at, _, action, args = heapq.heappop(person.queue)
            if at > self.end:
                break
            action(person, at, *args)

    def build_people(self) -> None:
        params = self.params
        index = 0
        # Contacts at customer accounts, from before the world starts.
        for company in self.named:
            if not company.is_customer:
                continue
            rng = random.Random(f"{self.seed}:customer:{company.index}")
            for _ in range(1 + (rng.random() < 0.5)):
                if index >= self.people:
                    return
                created = company.account_rec.last + timedelta(days=rng.uniform(5, 40), seconds=rng.randrange(86400))
                person = self.make_person(index, "customer_contact", company, created)
                person.missing_behavioural = False
                self.plan_customer_contact(person)
                self.run(person)
                index += 1
        rng = random.Random(f"{self.seed}:mix")
        span = (self.end - timedelta(days=7) - (self.start - timedelta(days=120))).total_seconds()
        while index < self.people:
            draw = rng.random()
            created = self.start - timedelta(days=120) + timedelta(seconds=rng.uniform(0, span))
            if draw < params.hubspot_only_share:
                company = self.hs_companies[rng.randrange(len(self.hs_companies))]
                person = self.make_person(index, "hubspot", company, created)
                self.plan_hubspot_person(person)
            else:
                stack = "marketo_sf_hubspot" if draw < params.hubspot_only_share + params.marketo_and_hubspot_share \
                    else "marketo_sf"
                company = self.named[rng.randrange(len(self.named))] if rng.random() < params.named_account_share \
                    else None
                person = self.make_person(index, stack, company, created)
                self.plan_marketo_person(person)
            self.run(person)
            index += 1

    # ---- shared person helpers -------------------------------------------------------------
    def person_created(self, person: Person, at: datetime) -> None:
        self.event(at, "person_created", person=person.key, email=person.email, first_name=person.first,
                   last_name=person.last, company=person.company.name,
                   domain=None if person.personal_email else person.company.domain,
                   personal_email=person.personal_email, stack=person.stack)

    def stage(self, person: Person, at: datetime, stage: str, system: str, reason: str | None = None) -> None:
        if person.stage == stage:
            return
        person.stage = stage
        self.event(at, "stage_change", person=person.key, stage=stage, system=system, reason=reason)

    def identity(self, person: Person, at: datetime, rec: Rec) -> None:
        self.event(at, "identity", person=person.key, system=rec.system, object=rec.object, id=rec.id)

    def marketing_touch(self, person: Person, at: datetime, system: str, obj: str, source_id: str, type_: str,
                        channel: str, campaign) -> None:
        person.touches += 1
        person.last_touch_at = at
        self.event(at, "marketing_touch", person=person.key, system=system, object=obj, source_id=source_id,
                   type=type_, channel=channel, campaign=None if campaign is None else str(campaign))
        if person.sf_lead is not None or person.sf_contact is not None:
            self.schedule(person, at + timedelta(minutes=person.rng.uniform(5, 15)), self.act_sync_behaviour)

    def context_fields(self, person: Person) -> dict:
        """The handoff record's context fields as they stand (Salesforce lead or HubSpot contact)."""
        if person.sf_lead is not None:
            d = person.sf_lead.data
            values = {"email": d["Email"], "company": d["Company"], "title": d["Title"], "industry": d["Industry"],
                      "employee_count": d["NumberOfEmployees"], "country": d["Country"],
                      "lead_source": d["LeadSource"], "marketing_touch_count": d["Marketing_Touch_Count__c"],
                      "last_marketing_touch_at": d["Last_Marketing_Touch_At__c"]}
            return values
        p = person.hs_contact.data["properties"]
        return {"email": p["email"], "company": p["company"], "title": p["jobtitle"], "industry": p["industry"],
                "employee_count": p["numemployees"], "country": p["country"], "lead_source": p["hs_analytics_source"],
                "marketing_touch_count": p["num_conversion_events"],
                "last_marketing_touch_at": p["recent_conversion_date"]}

    def note_context(self, person: Person, at: datetime, rec: Rec, why: str) -> None:
        fields = self.context_fields(person)
        now_missing = frozenset(k for k, v in fields.items() if v in (None, "", "[not provided]"))
        if now_missing == person.context_missing:
            return
        person.context_missing = now_missing
        self.event(at, "crm_context", person=person.key, system=rec.system, object=rec.object, id=rec.id,
                   fields=fields, why=why)

    # ---- Marketo + Salesforce people -------------------------------------------------------
    def plan_customer_contact(self, person: Person) -> None:
        company = person.company
        rng = person.rng
        self.schedule(person, person.created, self.act_mk_created, "List Import")
        contact_at = person.created + timedelta(days=rng.uniform(1, 10))
        self.schedule(person, contact_at, self.act_customer_contact)
        self.plan_email_and_web(person, intensity=0.6)
        # Sales keeps talking to customers: the account's AE, and sometimes an SDR who should not.
        for _ in range(rng.randrange(0, 3)):
            self.schedule(person, self.business_instant(rng, self.start, self.end), self.act_customer_touch,
                          company.account_owner)
        if rng.random() < self.params.sdr_prospects_customer_rate:
            sdr = rng.choice(self.sf_users["sdr"])
            first = self.business_instant(rng, self.start, self.end - timedelta(days=10))
            for n in range(rng.randrange(1, 4)):
                self.schedule(person, add_business_minutes(first, n * rng.uniform(480, 2400)),
                              self.act_customer_touch, sdr)

    def act_customer_contact(self, person: Person, at: datetime) -> None:
        company = person.company
        contact = self.sf_new("Contact", at, {
            "AccountId": company.account_id, "FirstName": person.first, "LastName": person.last,
            "Email": person.email, "Title": person.title, "LeadSource": "Trade Show",
            "MailingCountry": company.country, "OwnerId": company.account_owner.id,
            "Marketing_Touch_Count__c": person.touches,
            "Last_Marketing_Touch_At__c": sf_datetime(person.last_touch_at) if person.last_touch_at else None})
        person.sf_contact = contact
        self.identity(person, contact.last, contact)
        self.event(contact.last, "person_account", person=person.key, system="salesforce", account=company.account_id)
        self.mk_lead_write(person.mk_lead, at + timedelta(minutes=5), sfdcContactId=contact.id,
                           sfdcAccountId=company.account_id)
        # The deal that made the account a customer, before the world starts.
        rng = person.rng
        if company.index in self.customer_deal_done:
            return
        self.customer_deal_done.add(company.index)
        opened = at + timedelta(days=rng.uniform(2, 20))
        won = min(opened + timedelta(days=rng.uniform(20, 80)), self.start - timedelta(days=3))
        amount = round(rng.lognormvariate(math.log(40_000), 0.6), -2)
        self.schedule(person, opened, self.act_opportunity_open, company.account_owner, amount, "New Business")
        self.schedule(person, won, self.act_opportunity_close, True)

    def act_customer_touch(self, person: Person, at: datetime, user: User) -> None:
        if person.deleted or person.sf_contact is None:
            return
        self.sales_touch_sf(person, at, user, person.rng.choice(("call", "email", "email")), person.sf_contact)

    def business_instant(self, rng: random.Random, lo: datetime, hi: datetime) -> datetime:
        t = lo + timedelta(seconds=rng.uniform(0, max(1.0, (hi - lo).total_seconds())))
        return add_business_minutes(t.replace(hour=0, minute=0, second=0), rng.uniform(0, 479))

    def plan_marketo_person(self, person: Person) -> None:
        rng, params = person.rng, self.params
        source = rng.choice(("Ebook Download", "Contact Us", "Webinar Registration", "Paid Search Landing",
                             "Newsletter Signup", "List Import"))
        self.schedule(person, person.created, self.act_mk_created, source)
        self.plan_email_and_web(person, intensity=rng.uniform(0.4, 1.6))
        if rng.random() < params.marketo_duplicate_rate:
            dup_at = person.created + timedelta(days=rng.uniform(2, 30))
            self.schedule(person, dup_at, self.act_mk_duplicate)
            self.schedule(person, dup_at + timedelta(days=rng.uniform(2, 20)), self.act_mk_merge)
        mirror_at = None
        if rng.random() < params.mql_rate:
            lo = max(person.created + timedelta(days=1), self.start + timedelta(hours=1))
            if lo < self.end - timedelta(days=1):
                mql_at = whole_seconds(lo + timedelta(seconds=rng.uniform(0, (self.end - timedelta(days=1) - lo)
                                                                          .total_seconds())))
                if person.stack == "marketo_sf_hubspot":
                    # HubSpot's copy of the person qualifies too, hours before or minutes after Marketo.
                    mirror_at = whole_seconds(mql_at + timedelta(seconds=rng.uniform(-6 * 3600, 300)))
                    self.schedule(person, mirror_at, self.act_hs_mirror_mql, mirror_at < mql_at)
                self.schedule(person, mql_at - timedelta(seconds=rng.randrange(20, 600)), self.act_mk_intent)
                self.schedule(person, mql_at, self.act_mk_mql, mirror_at)
        elif rng.random() < params.deleted_rate / (1 - params.mql_rate):
            self.schedule(person, person.created + timedelta(days=rng.uniform(3, 120)), self.act_mk_delete)
        if person.stack == "marketo_sf_hubspot":
            hs_created = person.created + timedelta(days=rng.uniform(-20, 20))
            if mirror_at is not None:
                hs_created = min(hs_created, mirror_at - timedelta(hours=1))
            self.schedule(person, hs_created, self.act_hs_created, "mirror")
            for _ in range(rng.randrange(1, 3)):
                self.schedule(person, hs_created + timedelta(days=rng.uniform(0.1, 90)), self.act_hs_form,
                              rng.choice(("Ebook Download", "Webinar Registration", "Contact Us")))

    def plan_email_and_web(self, person: Person, intensity: float) -> None:
        rng = person.rng
        subscribed = rng.random() < 0.7
        for at, name in self.email_sends:
            if at > person.created and subscribed and rng.random() < 0.4:
                self.schedule(person, at + timedelta(seconds=rng.randrange(0, 900)), self.act_mk_email, name)
        span = (self.end - person.created).total_seconds()
        for _ in range(self.poisson(rng, 2.5 * intensity)):
            self.schedule(person, person.created + timedelta(seconds=rng.uniform(60, span)), self.act_mk_visit,
                          rng.choice(WEB_PAGES))
        for _ in range(self.poisson(rng, 0.6 * intensity)):
            program = rng.choice(("Content - Revenue Leak Report", "Website - Contact Us", "Paid Search - Brand"))
            self.schedule(person, person.created + timedelta(seconds=rng.uniform(60, span)), self.act_mk_form,
                          self.programs[program])
        for show in self.events_calendar:
            if show.at > person.created + timedelta(days=3) and rng.random() < 0.06 * intensity:
                if show.form_name:
                    registered = show.at - timedelta(days=rng.uniform(1, 20))
                    if registered > person.created:
                        self.schedule(person, registered, self.act_mk_form, show)
                if rng.random() < 0.6:
                    self.schedule(person, show.at + timedelta(minutes=rng.randrange(0, 40)), self.act_attend, show)

    @staticmethod
    def poisson(rng: random.Random, mean: float) -> int:
        limit, count, product = math.exp(-mean), 0, rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
        return count

    def active_mk_lead(self, person: Person) -> Rec | None:
        return None if person.deleted else person.mk_lead

    def act_mk_created(self, person: Person, at: datetime, source: str) -> None:
        c = person.company
        lead_source = {"Ebook Download": "Content Syndication", "Webinar Registration": "Webinar",
                       "Paid Search Landing": "Paid Search", "List Import": "Trade Show"}.get(source, "Website")
        lead_id = str(self.ids.next("mk:lead", 100_001))
        data = {f: None for f in MARKETO_LEAD_FIELDS}
        data.update(id=int(lead_id), email=person.email, firstName=person.first, lastName=person.last,
                    title=person.title, company=None if "company" in person.missing else c.name,
                    industry=None if "industry" in person.missing else c.industry,
                    numberOfEmployees=None if "employee_count" in person.missing else c.employees,
                    country=None if "country" in person.missing else c.country,
                    leadSource=lead_source, leadStatus="Nurture" if source == "List Import" else "New", leadScore=0,
                    originalSourceType="List import" if source == "List Import" else "Web form fillout",
                    originalSourceInfo=None if source == "List Import" else "https://www.baton-demo.com/forms",
                    acquisitionProgramId=self.programs["Newsletter"].id)
        person.lead_status_mk = data["leadStatus"]
        person.mk_lead = Rec("marketo", "lead", lead_id, data)
        at = self.mk_lead_write(person.mk_lead, at)
        if person.stage is None:
            self.person_created(person, at)
        self.identity(person, at, person.mk_lead)
        self.stage(person, at, "prospect", "marketo")
        if person.company.account_id and not person.personal_email and person.stack != "customer_contact":
            self.event(at, "person_account", person=person.key, system="salesforce", account=person.company.account_id)
        self.mk_activity(at, person.mk_lead, 12, primary=person.email, attributes={"Source Type": data["originalSourceType"]})
        form_program = {"Ebook Download": "Content - Revenue Leak Report", "Contact Us": "Website - Contact Us",
                        "Paid Search Landing": "Paid Search - Brand"}.get(source)
        if form_program:
            self.act_mk_form(person, at + timedelta(seconds=2), self.programs[form_program])

    def bump_score(self, person: Person, at: datetime, points: int, why: str) -> None:
        lead = self.active_mk_lead(person)
        if lead is None:
            return
        old = person.score
        person.score += points
        at = self.mk_lead_write(lead, at + timedelta(seconds=1), leadScore=person.score)
        self.mk_activity(at, lead, 22, primary="Lead Score",
                         attributes={"Change Value": f"+{points}", "New Value": person.score, "Old Value": old,
                                     "Reason": why})

    def act_mk_email(self, person: Person, at: datetime, name: str) -> None:
        lead = self.active_mk_lead(person)
        if lead is None:
            return
        rng = person.rng
        newsletter = self.programs["Newsletter"]
        self.mk_activity(at, lead, 6, primary_id=newsletter.id, primary=name, campaign_id=newsletter.id)
        delivered = at + timedelta(seconds=rng.randrange(5, 180))
        self.mk_activity(delivered, lead, 7, primary_id=newsletter.id, primary=name, campaign_id=newsletter.id)
        if rng.random() < 0.3:
            opened = delivered + timedelta(minutes=rng.uniform(1, 3000))
            if opened <= self.end:
                self.schedule(person, opened, self.act_mk_open, name)

    def act_mk_open(self, person: Person, at: datetime, name: str) -> None:
        lead = self.active_mk_lead(person)
        if lead is None:
            return
        newsletter = self.programs["Newsletter"]
        self.mk_activity(at, lead, 10, primary_id=newsletter.id, primary=name, campaign_id=newsletter.id)
        if person.rng.random() < 0.3:
            clicked = at + timedelta(seconds=person.rng.randrange(10, 600))
            if clicked <= self.end:
                self.schedule(person, clicked, self.act_mk_click, name)

    def act_mk_click(self, person: Person, at: datetime, name: str) -> None:
        lead = self.active_mk_lead(person)
        if lead is None:
            return
        newsletter = self.programs["Newsletter"]
        activity = self.mk_activity(at, lead, 11, primary_id=newsletter.id, primary=name, campaign_id=newsletter.id,
                                    attributes={"Link": "https://www.baton-demo.com/blog/funnel-leaks"})
        self.marketing_touch(person, at, "marketo", "activity", activity, "email_click", "email", newsletter.id)
        self.bump_score(person, at, 5, "Clicked email")

    def act_mk_visit(self, person: Person, at: datetime, page: str, lead: Rec | None = None) -> None:
        lead = lead or self.active_mk_lead(person)
        if lead is None:
            return
        page_id = WEB_PAGES.index(page) + 1 if page in WEB_PAGES else 99
        activity = self.mk_activity(at, lead, 1, primary_id=page_id, primary=f"www.baton-demo.com{page}",
                                    attributes={"Webpage URL": page, "Query Parameters": "",
                                                "Referrer URL": "https://www.google.com/"})
        self.marketing_touch(person, at, "marketo", "activity", activity, "web_visit", "web", None)
        if page == "/pricing" and lead is person.mk_lead:
            self.bump_score(person, at, 10, "Visited pricing page")

    def act_mk_form(self, person: Person, at: datetime, program: Program, lead: Rec | None = None) -> None:
        lead = lead or self.active_mk_lead(person)
        if lead is None:
            return
        activity = self.mk_activity(at, lead, 2, primary_id=program.form_id, primary=program.form_name,
                                    campaign_id=program.id,
                                    attributes={"Webpage URL": "/forms/" + program.form_name.lower().replace(" ", "-"),
                                                "Client IP Address": "203.0.113.7"})
        channel = program.channel.lower().replace(" ", "_")
        self.marketing_touch(person, at, "marketo", "activity", activity, "form_fill", channel, program.id)
        if lead is person.mk_lead:
            self.bump_score(person, at, 15, f"Filled out {program.form_name}")

    def act_attend(self, person: Person, at: datetime, show: Program) -> None:
        lead = self.active_mk_lead(person)
        if lead is None:
            return
        crm = person.sf_contact or person.sf_lead
        if crm is not None and show.sf_campaign_id:
            member = self.sf_new("CampaignMember", at, {
                "CampaignId": show.sf_campaign_id,
                "LeadId": person.sf_lead.id if person.sf_lead and not person.sf_contact else None,
                "ContactId": person.sf_contact.id if person.sf_contact else None, "Status": "Attended",
                "HasResponded": True, "FirstRespondedDate": sf_date(at)})
            channel = "webinar" if show.channel == "Webinar" else "event"
            self.marketing_touch(person, member.last, "salesforce", "CampaignMember", member.id, "campaign_response",
                                 channel, show.sf_campaign_id)
        self.mk_activity(at, lead, 104, primary_id=show.id, primary=show.name, campaign_id=show.id,
                         attributes={"New Status": "Attended", "Old Status": "Registered"})
        self.bump_score(person, at, 20, f"Attended {show.name}")

    def act_mk_intent(self, person: Person, at: datetime) -> None:
        if person.rng.random() < 0.6:
            self.act_mk_form(person, at, self.programs["Website - Demo Request"])
        else:
            self.act_mk_visit(person, at, "/pricing")

    def act_mk_duplicate(self, person: Person, at: datetime) -> None:
        if person.deleted or person.mk_duplicate is not None:
            return
        lead_id = str(self.ids.next("mk:lead", 100_001))
        data = dict(person.mk_lead.data, id=int(lead_id), email=person.email.upper(), leadScore=0, leadStatus="New",
                    sfdcLeadId=None, sfdcContactId=None, sfdcAccountId=None, createdAt=None)
        person.mk_duplicate = Rec("marketo", "lead", lead_id, data)
        at = self.mk_lead_write(person.mk_duplicate, at)
        self.identity(person, at, person.mk_duplicate)
        self.mk_activity(at, person.mk_duplicate, 12, primary=data["email"], attributes={"Source Type": "Web form fillout"})
        self.act_mk_visit(person, at + timedelta(minutes=3), "/integrations", lead=person.mk_duplicate)

    def act_mk_merge(self, person: Person, at: datetime) -> None:
        loser = person.mk_duplicate
        if loser is None or person.deleted:
            return
        at = self.mk_lead_write(loser, at, deleted=True)
        self.mk_activity(at, person.mk_lead, 32, primary=person.mk_lead.data["email"],
                         attributes={"Merge Ids": loser.id, "Merged in Sales": False, "Master Updated": True})
        self.event(at, "record_merged", person=person.key, system="marketo", object="lead", id=loser.id,
                   into=person.mk_lead.id)

    def act_mk_delete(self, person: Person, at: datetime) -> None:
        if person.deleted or person.stage not in ("prospect", None) or person.sf_lead is not None:
            return
        lead = person.mk_lead
        at = self.mk_lead_write(lead, at, deleted=True)
        self.mk_activity(at, lead, 37, primary=str(lead.id), attributes={"Reason": "Data subject request"})
        self.event(at, "record_deleted", person=person.key, system="marketo", object="lead", id=lead.id)
        if person.hs_contact is not None:
            at = self.hs_write(person.hs_contact, at + timedelta(minutes=2), archived=True)
            self.event(at, "record_deleted", person=person.key, system="hubspot", object="contacts",
                       id=person.hs_contact.id)
        person.deleted = True

    def mk_status(self, person: Person, at: datetime, status: str, reason: str) -> datetime:
        lead = person.mk_lead
        old = person.lead_status_mk
        person.lead_status_mk = status
        at = self.mk_lead_write(lead, at, leadStatus=status)
        self.mk_activity(at, lead, 13, primary_id=67, primary="Lead Status",
                         attributes={"New Value": status, "Old Value": old, "Reason": reason,
                                     "Source": "Marketo Flow Action"})
        return at

    # the handoff, Salesforce side
    def act_mk_mql(self, person: Person, at: datetime, mirror_at: datetime | None = None) -> None:
        mirror_first = mirror_at is not None and mirror_at < at
        if person.deleted or (person.stage not in ("prospect", "recycled") and not mirror_first):
            return
        handed_off = mirror_at if mirror_first else at
        at = self.mk_status(person, at, "MQL", "Score threshold reached")
        if not mirror_first:
            self.stage(person, at, "mql", "marketo")
        self.plan_sf_handoff(person, handed_off, at + timedelta(minutes=person.rng.uniform(2, 20)))

    def act_hs_mirror_mql(self, person: Person, at: datetime, earliest: bool) -> None:
        if person.hs_contact is None or person.deleted:
            return
        at = self.hs_write(person.hs_contact, at, lifecyclestage="marketingqualifiedlead")
        if earliest:
            self.stage(person, at, "mql", "hubspot")

    def route(self, person: Person, system: str) -> tuple[User | None, User | None, User | None]:
        """(owner at handoff, expected owner, the rep who will work it) for a new handoff."""
        rng, params = person.rng, self.params
        users = self.sf_users if system == "salesforce" else self.hs_owners
        company = person.company
        if system == "salesforce":
            expected = company.account_owner if company.account_id and not person.personal_email else None
        else:
            expected = company.hs_owner
        correct = expected or self.pick(users["sdr"], f"{system}-sdr")
        if rng.random() >= params.misrouted_rate:
            return correct, expected, correct
        kinds = ["queue", "inactive"] if system == "salesforce" else ["nobody", "inactive"]
        weights = [0.6, 0.4]
        if expected is not None:
            kinds.append("wrong_rep")
            weights = [0.35, 0.25, 0.4]
        kind = rng.choices(kinds, weights)[0]
        if kind == "wrong_rep":
            pool = [u for u in users["sdr"] + users["ae"] if u is not expected]
            owner = rng.choice(pool)
            return owner, expected, owner
        owner = {"queue": self.queue, "nobody": None,
                 "inactive": self.inactive_user if system == "salesforce" else self.hs_inactive}[kind]
        return owner, expected, correct

    def plan_attempts(self, person: Person, handed_off: datetime) -> dict:
        """The sales story of one handoff, in time: touches, the status moves, the outcome."""
        rng, params = person.rng, self.params
        plan = {"touches": [], "sal_at": None, "outcome": None, "outcome_at": None, "reason": None}
        if rng.random() < params.never_contacted_rate:
            if rng.random() < 0.3:
                plan["outcome"] = "disqualified"
                plan["outcome_at"] = add_business_minutes(handed_off, rng.uniform(20, 40) * 480)
                plan["reason"] = None if rng.random() < params.rejection_without_reason_rate \
                    else rng.choice(NO_RESPONSE_REASONS)
            return plan
        if rng.random() < params.late_first_response_rate:
            delay = rng.uniform(5.15, 25) * 480
        elif rng.random() < 0.5:
            delay = rng.uniform(30, 470)
        else:
            delay = rng.uniform(490, 2390)
        first = add_business_minutes(handed_off, delay) + timedelta(seconds=rng.randrange(60))
        sales_ready = rng.random() >= params.not_sales_ready_rate
        if sales_ready:
            attempts = rng.randint(5, 9) if rng.random() < params.long_pursuit_rate else rng.randint(2, 4)
        elif rng.random() < params.give_up_after_one_follow_up_rate:
            attempts = rng.randint(1, 2)
        else:
            attempts = rng.randint(3, 8)
        t = first
        for n in range(attempts):
            if n:
                t = add_business_minutes(t, rng.uniform(240, 2400)) + timedelta(seconds=rng.randrange(60))
            plan["touches"].append((t, rng.choice(CHANNELS)))
        plan["sal_at"] = first + timedelta(minutes=rng.uniform(1, 60))
        done = add_business_minutes(t, rng.uniform(60, 1440))
        if sales_ready:
            plan["outcome"], plan["outcome_at"] = "converted", done
        elif attempts <= 2:
            if rng.random() < 0.6:
                plan["outcome"] = rng.choice(("disqualified", "disqualified", "recycled"))
                plan["outcome_at"] = done
                plan["reason"] = rng.choice(NO_RESPONSE_REASONS)
        else:
            draw = rng.random()
            if draw < 0.45:
                plan["outcome"] = "disqualified"
                plan["reason"] = rng.choice(DISQUALIFY_REASONS + NO_RESPONSE_REASONS)
            elif draw < 0.8:
                plan["outcome"] = "recycled"
                plan["reason"] = rng.choice(RECYCLE_REASONS)
            if plan["outcome"]:
                plan["outcome_at"] = done
        if plan["outcome"] in ("disqualified", "recycled") and rng.random() < params.rejection_without_reason_rate:
            plan["reason"] = None
        plan["duplicate"] = rng.random() < params.duplicate_outreach_rate
        plan["manager_call"] = rng.random() < 0.03
        return plan

    def plan_sf_handoff(self, person: Person, handed_off: datetime, crm_at: datetime) -> None:
        rng = person.rng
        owner, expected, worker = self.route(person, "salesforce")
        plan = self.plan_attempts(person, handed_off)
        self.schedule(person, crm_at, self.act_sf_handoff, owner, expected)
        if worker is not owner:
            first = plan["touches"][0][0] if plan["touches"] else None
            if first is not None:
                reassign = min(add_business_minutes(crm_at, rng.uniform(120, 1440)), first - timedelta(minutes=30))
                self.schedule(person, max(reassign, crm_at + timedelta(minutes=1)), self.act_sf_reassign, worker)
            elif rng.random() < 0.5 and owner is self.queue:
                self.schedule(person, add_business_minutes(crm_at, rng.uniform(480, 2400)), self.act_sf_reassign, worker)
        for t, channel in plan["touches"]:
            self.schedule(person, t, self.act_sf_touch, worker, channel)
        if plan.get("duplicate") and plan["touches"]:
            other_pool = self.sf_users["ae"] if worker.role == "sdr" else self.sf_users["sdr"]
            other = rng.choice([u for u in other_pool if u is not worker])
            base = rng.choice(plan["touches"])[0]
            self.schedule(person, add_business_minutes(base, rng.uniform(240, 2400)), self.act_sf_touch, other,
                          rng.choice(CHANNELS))
        if plan.get("manager_call"):
            self.schedule(person, add_business_minutes(handed_off, rng.uniform(60, 4800)), self.act_sf_manager_call,
                          self.sf_users["manager"][0])
        if plan["sal_at"]:
            self.schedule(person, plan["sal_at"], self.act_sf_status, "Working - Contacted", None, worker)
        if plan["outcome"] == "converted":
            ae = worker if worker.role == "ae" else (expected or self.pick(self.sf_users["ae"], "converter"))
            self.schedule(person, plan["outcome_at"], self.act_sf_convert, ae)
        elif plan["outcome"] == "disqualified":
            self.schedule(person, plan["outcome_at"], self.act_sf_status, "Closed - Not Converted", plan["reason"], worker)
        elif plan["outcome"] == "recycled":
            self.schedule(person, plan["outcome_at"], self.act_sf_status, "Nurture", plan["reason"], worker)
            if rng.random() < self.params.requalify_rate:
                again = plan["outcome_at"] + timedelta(days=rng.uniform(20, 90))
                self.schedule(person, again - timedelta(seconds=rng.randrange(20, 600)), self.act_mk_intent)
                self.schedule(person, again, self.act_mk_mql, None)
        if rng.random() < self.params.field_blanked_rate:
            self.schedule(person, crm_at + timedelta(days=rng.uniform(1, 60)), self.act_sf_blank_field)

    def act_sf_handoff(self, person: Person, at: datetime, owner: User, expected: User | None) -> None:
        if person.deleted:
            return
        rng = person.rng
        if person.sf_lead is None:
            c = person.company
            missing = person.missing
            lead = self.sf_new("Lead", at, {
                "FirstName": person.first, "LastName": person.last, "Email": person.email, "Title": person.title,
                "Company": "[not provided]" if "company" in missing else c.name,
                "Industry": None if "industry" in missing else c.industry,
                "NumberOfEmployees": None if "employee_count" in missing else c.employees,
                "Country": None if "country" in missing else c.country,
                "LeadSource": person.mk_lead.data["leadSource"], "Status": "Open - Not Contacted",
                "OwnerId": owner.id, "IsConverted": False,
                "Marketing_Touch_Count__c": None if person.missing_behavioural else person.touches,
                "Last_Marketing_Touch_At__c": None if person.missing_behavioural or not person.last_touch_at
                else sf_datetime(person.last_touch_at)})
            person.sf_lead = lead
            at = lead.last
            self.sf_history("LeadHistory", "LeadId", lead, at, "created", None, None, self.sync_user)
            self.identity(person, at, lead)
            self.mk_lead_write(person.mk_lead, at + timedelta(seconds=rng.randrange(5, 60)), sfdcLeadId=lead.id)
            self.mk_activity(at, person.mk_lead, 19, primary="Salesforce", attributes={"Assign To": owner.name})
        else:
            lead = person.sf_lead
            old_status, old_owner = lead.data["Status"], lead.data["OwnerId"]
            at = self.sf_update(lead, at, Status="Open - Not Contacted", OwnerId=owner.id)
            self.sf_history("LeadHistory", "LeadId", lead, at, "Status", old_status, "Open - Not Contacted", self.sync_user)
            if old_owner != owner.id:
                self.sf_history("LeadHistory", "LeadId", lead, at, "Owner", old_owner, owner.id, self.sync_user)
        self.stage(person, at, "mql", "salesforce")
        self.event(at, "crm_handoff", person=person.key, system="salesforce", object="Lead", id=lead.id,
                   owner=owner.id, expected_owner=expected.id if expected else None)
        self.note_context(person, at, lead, "handoff")

    def act_sf_reassign(self, person: Person, at: datetime, worker: User) -> None:
        lead = person.sf_lead
        if lead is None or lead.data["IsConverted"] or lead.data["OwnerId"] == worker.id:
            return
        old = lead.data["OwnerId"]
        at = self.sf_update(lead, at, OwnerId=worker.id)
        self.sf_history("LeadHistory", "LeadId", lead, at, "Owner", old, worker.id, self.sf_users["manager"][0])
        self.event(at, "owner_changed", person=person.key, system="salesforce", object="Lead", id=lead.id,
                   old=old, new=worker.id)

    def act_sf_touch(self, person: Person, at: datetime, user: User, channel: str) -> None:
        who = person.sf_contact or person.sf_lead
        if who is None:
            return
        self.sales_touch_sf(person, at, user, channel, who)

    def act_sf_manager_call(self, person: Person, at: datetime, manager: User) -> None:
        """A manager's call: logged, no sales touch; half are deleted later as logged on the wrong record."""
        who = person.sf_contact or person.sf_lead
        if who is None:
            return
        rec = self.sales_touch_sf(person, at, manager, "call", who)
        if person.rng.random() < 0.5:
            self.schedule(person, at + timedelta(days=person.rng.uniform(1, 10)), self.act_sf_delete_activity, rec)

    def act_sf_delete_activity(self, person: Person, at: datetime, rec: Rec) -> None:
        at = self._version(rec, at)
        self._sf_stamp(rec, at, deleted=True)
        self.event(at, "activity_deleted", person=person.key, system="salesforce", object=rec.object, id=rec.id)

    def sales_touch_sf(self, person: Person, at: datetime, user: User, channel: str, who: Rec,
                       what: Rec | None = None) -> Rec:
        rng = person.rng
        if channel == "meeting":
            booked = max(at - timedelta(hours=rng.uniform(2, 48)), (who.last or at) + timedelta(minutes=1))
            booked = min(booked, at)
            rec = self.sf_new("Event", booked, {"WhoId": who.id, "WhatId": what.id if what else None,
                                                "OwnerId": user.id, "Subject": "Meeting",
                                                "StartDateTime": sf_datetime(at),
                                                "EndDateTime": sf_datetime(at + timedelta(minutes=30))})
        else:
            subtype = "Call" if channel == "call" else "Email"
            rec = self.sf_new("Task", at, {"WhoId": who.id, "WhatId": what.id if what else None, "OwnerId": user.id,
                                           "Subject": "Call" if channel == "call" else "Email: Following up",
                                           "TaskSubtype": subtype, "Status": "Completed",
                                           "ActivityDate": sf_date(at), "CompletedDateTime": sf_datetime(at)})
        kind = "sales_touch" if user.role in ("sdr", "ae") else "other_activity"
        extra = {} if kind == "sales_touch" else {"why": f"{user.role} is not a sales role"}
        self.event(at, kind, person=person.key, system="salesforce", object=rec.object, id=rec.id, user=user.id,
                   role=user.role, channel=channel, **extra)
        return rec

    def act_sf_status(self, person: Person, at: datetime, status: str, reason: str | None, by: User) -> None:
        lead = person.sf_lead
        if lead is None or lead.data["IsConverted"]:
            return
        old = lead.data["Status"]
        changes = {"Status": status}
        reason_field = {"Closed - Not Converted": "Disqualified_Reason__c", "Nurture": "Recycled_Reason__c"}.get(status)
        if reason_field:
            changes[reason_field] = reason
        at = self.sf_update(lead, at, **changes)
        self.sf_history("LeadHistory", "LeadId", lead, at, "Status", old, status, by)
        if reason_field:
            self.sf_history("LeadHistory", "LeadId", lead, at, reason_field, None, reason, by)
        stage = {"Working - Contacted": "sal", "Closed - Not Converted": "disqualified", "Nurture": "recycled"}[status]
        self.stage(person, at, stage, "salesforce", reason)
        if stage in ("disqualified", "recycled"):
            # Marketo hears of it a few minutes later through the CRM sync.
            self.schedule(person, at + timedelta(minutes=person.rng.uniform(2, 30)), self.act_mk_sync_status,
                          "Disqualified" if stage == "disqualified" else "Recycled")

    def act_mk_sync_status(self, person: Person, at: datetime, status: str) -> None:
        if not person.deleted:
            self.mk_status(person, at, status, "Synced from Salesforce")

    def act_sf_blank_field(self, person: Person, at: datetime) -> None:
        lead = person.sf_lead
        if lead is None or lead.data["IsConverted"]:
            return
        name = person.rng.choice(("Title", "Country"))
        at = self.sf_update(lead, at, **{name: None})
        self.note_context(person, at, lead, f"{name} blanked by an enrichment overwrite")

    def act_sync_behaviour(self, person: Person, at: datetime) -> None:
        if person.missing_behavioural:
            return
        last = sf_datetime(person.last_touch_at)
        if person.sf_contact is not None:
            self.sf_update(person.sf_contact, at, Marketing_Touch_Count__c=person.touches, Last_Marketing_Touch_At__c=last)
        lead = person.sf_lead
        if lead is not None and not lead.data["IsConverted"]:
            at = self.sf_update(lead, at, Marketing_Touch_Count__c=person.touches, Last_Marketing_Touch_At__c=last)
            self.note_context(person, at, lead, "behaviour synced")

    def act_sf_convert(self, person: Person, at: datetime, ae: User) -> None:
        lead = person.sf_lead
        if lead is None or lead.data["IsConverted"] or lead.data["Status"] in ("Closed - Not Converted", "Nurture"):
            return
        rng = person.rng
        company = person.company
        if company.account_rec is None:
            company.account_owner = ae
            company.account_rec = self.sf_new("Account", at, {
                "Name": company.name, "Website": f"https://www.{company.domain}", "Industry": company.industry,
                "NumberOfEmployees": company.employees, "BillingCountry": company.country, "Type": "Prospect",
                "OwnerId": ae.id})
            company.account_id = company.account_rec.id
            self.event(company.account_rec.last, "account_created", system="salesforce", id=company.account_id,
                       name=company.name, domain=company.domain, owner=ae.id, is_customer=False)
        ld = lead.data
        contact = self.sf_new("Contact", at, {
            "AccountId": company.account_id, "FirstName": ld["FirstName"], "LastName": ld["LastName"],
            "Email": ld["Email"], "Title": ld["Title"], "LeadSource": ld["LeadSource"], "MailingCountry": ld["Country"],
            "OwnerId": ae.id, "Marketing_Touch_Count__c": ld["Marketing_Touch_Count__c"],
            "Last_Marketing_Touch_At__c": ld["Last_Marketing_Touch_At__c"]})
        person.sf_contact = contact
        old = ld["Status"]
        at = self.sf_update(lead, contact.last, Status="Closed - Converted", IsConverted=True, ConvertedDate=sf_date(at),
                            ConvertedContactId=contact.id, ConvertedAccountId=company.account_id)
        self.sf_history("LeadHistory", "LeadId", lead, at, "Status", old, "Closed - Converted", ae)
        self.identity(person, contact.last, contact)
        self.event(at, "person_account", person=person.key, system="salesforce", account=company.account_id)
        self.event(at, "converted", person=person.key, lead=lead.id, contact=contact.id, account=company.account_id)
        self.stage(person, at, "sql", "salesforce")
        self.mk_lead_write(person.mk_lead, at + timedelta(minutes=rng.uniform(2, 10)), sfdcContactId=contact.id,
                           sfdcAccountId=company.account_id)
        if rng.random() < self.params.opportunity_after_sql_rate:
            opened = add_business_minutes(at, rng.uniform(480, 4800))
            amount = round(rng.lognormvariate(math.log(30_000), 0.7), -2)
            self.schedule(person, opened, self.act_opportunity_open, ae, amount,
                          "Existing Business" if company.is_customer else "New Business")

    STAGES = ("Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review")

    def act_opportunity_open(self, person: Person, at: datetime, ae: User, amount: float, type_: str) -> None:
        rng = person.rng
        company = person.company
        close_plan = at + timedelta(days=rng.uniform(25, 110))
        opp = self.sf_new("Opportunity", at, {
            "Name": f"{company.name} - {type_}", "AccountId": company.account_id, "OwnerId": ae.id,
            "StageName": "Prospecting", "Amount": amount, "CloseDate": sf_date(close_plan), "IsClosed": False,
            "IsWon": False, "LeadSource": person.mk_lead.data["leadSource"] if person.mk_lead else None,
            "CampaignId": None, "Type": type_})
        person.opportunity = opp
        at = opp.last
        self.sf_history("OpportunityFieldHistory", "OpportunityId", opp, at, "created", None, None, ae)
        role = self.sf_new("OpportunityContactRole", at, {"OpportunityId": opp.id, "ContactId": person.sf_contact.id,
                                                          "Role": "Decision Maker", "IsPrimary": True})
        self.event(at, "opportunity_created", system="salesforce", id=opp.id, account=company.account_id,
                   owner=ae.id, amount=amount, persons=[person.key])
        self.event(at, "contact_role_added", system="salesforce", id=role.id, opportunity=opp.id,
                   person=person.key, contact=person.sf_contact.id)
        self.stage(person, at, "opportunity", "salesforce")
        if person.stack == "customer_contact":
            return   # the pre-world deal's close is already scheduled
        t = at
        for stage in self.STAGES:
            t = t + timedelta(days=rng.uniform(4, 18))
            if t > close_plan:
                break
            self.schedule(person, t, self.act_opportunity_stage, stage, ae)
        self.schedule(person, max(t, close_plan) + timedelta(days=rng.uniform(0, 5)), self.act_opportunity_close,
                      rng.random() < self.params.win_rate)
        touch = add_business_minutes(at, rng.uniform(480, 2400))
        while touch < close_plan:
            self.schedule(person, touch, self.act_opportunity_touch, ae)
            touch = add_business_minutes(touch, rng.uniform(1440, 4800)) + timedelta(seconds=rng.randrange(60))

    def act_opportunity_touch(self, person: Person, at: datetime, ae: User) -> None:
        opp = person.opportunity
        if opp.data["IsClosed"]:
            return
        self.sales_touch_sf(person, at, ae, person.rng.choice(("call", "email", "meeting")), person.sf_contact, opp)

    def act_opportunity_stage(self, person: Person, at: datetime, stage: str, ae: User) -> None:
        opp = person.opportunity
        if opp.data["IsClosed"]:
            return
        old = opp.data["StageName"]
        at = self.sf_update(opp, at, StageName=stage)
        self.sf_history("OpportunityFieldHistory", "OpportunityId", opp, at, "StageName", old, stage, ae)
        self.event(at, "opportunity_stage", system="salesforce", id=opp.id, stage=stage)

    def act_opportunity_close(self, person: Person, at: datetime, won: bool) -> None:
        opp = person.opportunity
        if opp.data["IsClosed"]:
            return
        stage = "Closed Won" if won else "Closed Lost"
        old = opp.data["StageName"]
        at = self.sf_update(opp, at, StageName=stage, IsClosed=True, IsWon=won, CloseDate=sf_date(at))
        self.sf_history("OpportunityFieldHistory", "OpportunityId", opp, at, "StageName", old, stage,
                        opp.data["OwnerId"])
        self.event(at, "opportunity_stage", system="salesforce", id=opp.id, stage=stage)
        self.event(at, "opportunity_closed", system="salesforce", id=opp.id, account=opp.data["AccountId"], won=won,
                   amount=opp.data["Amount"])
        if won:
            self.stage(person, at, "customer", "salesforce")
            company = person.company
            if company.account_rec is not None and not company.is_customer and person.stack != "customer_contact":
                self.sf_update(company.account_rec, at + timedelta(minutes=1), Type="Customer")

    # ---- HubSpot people --------------------------------------------------------------------
    def act_hs_created(self, person: Person, at: datetime, why: str) -> None:
        c = person.company
        variant = person.email.lower()
        if why == "mirror":   # the same person, typed differently in the other system
            variant = person.rng.choice((f" {variant}", variant.upper(), f"{variant} ", variant.title()))
        props = {"email": variant, "firstname": person.first, "lastname": person.last, "jobtitle": person.title,
                 "company": None if "company" in person.missing else c.name,
                 "industry": None if "industry" in person.missing else c.industry,
                 "numemployees": None if "employee_count" in person.missing else c.employees,
                 "country": None if "country" in person.missing else c.country,
                 "lifecyclestage": person.rng.choice(("subscriber", "lead")),
                 "hs_analytics_source": person.rng.choice(("ORGANIC_SEARCH", "PAID_SEARCH", "DIRECT_TRAFFIC",
                                                           "EMAIL_MARKETING", "SOCIAL_MEDIA"))}
        assoc = {}
        if c.hs_company_id and why != "mirror":
            props["associatedcompanyid"] = c.hs_company_id
            assoc = {"companies": [c.hs_company_id]}
        rec = self.hs_new("contacts", at, {k: (None if v is None else str(v)) for k, v in props.items()},
                          associations=assoc)
        if why == "duplicate":
            person.hs_duplicate = rec
        else:
            person.hs_contact = rec
        if person.stage is None:
            self.person_created(person, at)
        self.identity(person, at, rec)
        if why != "duplicate":
            self.stage(person, at, "prospect", "hubspot")
        if assoc and why != "duplicate":
            self.event(at, "person_account", person=person.key, system="hubspot", account=c.hs_company_id)

    def act_hs_form(self, person: Person, at: datetime, form: str) -> None:
        contact = person.hs_contact
        if contact is None or person.deleted:
            return
        guid, channel = self.hs_forms[form]
        conversion = str(uuid.UUID(int=person.rng.getrandbits(128), version=4))
        self.add_version("hubspot", "form_submissions", conversion, at, {
            "conversionId": conversion, "submittedAt": epoch_ms(at), "formId": guid, "contactId": contact.id,
            "pageUrl": "https://www.baton-demo.com/forms/" + form.lower().replace(" ", "-"),
            "values": [{"name": "email", "value": contact.data["properties"]["email"]},
                       {"name": "firstname", "value": person.first}]})
        self.marketing_touch(person, at, "hubspot", "form_submissions", conversion, "form_fill", channel, guid)
        props = contact.data["properties"]
        count = int(props["num_conversion_events"] or 0) + 1
        if person.missing_behavioural and person.stack == "hubspot":
            return   # this portal never fills the conversion summary for them
        at = self.hs_write(contact, at + timedelta(seconds=1), num_conversion_events=count,
                           recent_conversion_date=hs_datetime(at))
        if person.stack == "hubspot" and person.stage not in (None, "prospect"):
            self.note_context(person, at, contact, "behaviour recorded")

    def act_hs_email(self, person: Person, at: datetime, campaign: int) -> None:
        contact = person.hs_contact
        if contact is None or person.deleted:
            return
        rng = person.rng
        recipient = contact.data["properties"]["email"].strip().lower()
        moments = [("SENT", at), ("DELIVERED", at + timedelta(seconds=rng.randrange(5, 120)))]
        if rng.random() < 0.3:
            opened = moments[-1][1] + timedelta(minutes=rng.uniform(1, 2000))
            moments.append(("OPEN", opened))
            if rng.random() < 0.3:
                moments.append(("CLICK", opened + timedelta(seconds=rng.randrange(10, 600))))
        for kind, when in moments:
            when = whole_seconds(when)
            if when > self.end:
                break
            event_id = f"{self.ids.next('hs:email_event', 1):012x}"
            data = {"id": event_id, "type": kind, "created": epoch_ms(when), "recipient": recipient,
                    "emailCampaignId": campaign}
            if kind == "CLICK":
                data["url"] = "https://www.baton-demo.com/blog/speed-to-lead"
            self.add_version("hubspot", "email_events", event_id, when, data)
            if kind == "CLICK":
                self.marketing_touch(person, when, "hubspot", "email_events", event_id, "email_click", "email", campaign)

    def plan_hubspot_person(self, person: Person) -> None:
        rng, params = person.rng, self.params
        self.schedule(person, person.created, self.act_hs_created, "own")
        first_form = rng.choice(("Ebook Download", "Contact Us", "Newsletter Signup", "Webinar Registration"))
        self.schedule(person, person.created + timedelta(seconds=3), self.act_hs_form, first_form)
        subscribed = rng.random() < 0.7
        for at, campaign in self.hs_campaigns:
            if at > person.created and subscribed and rng.random() < 0.55:
                self.schedule(person, at + timedelta(seconds=rng.randrange(0, 900)), self.act_hs_email, campaign)
        span = (self.end - person.created).total_seconds()
        for _ in range(self.poisson(rng, 0.8)):
            self.schedule(person, person.created + timedelta(seconds=rng.uniform(60, span)), self.act_hs_form,
                          rng.choice(("Ebook Download", "Contact Us", "Webinar Registration")))
        if rng.random() < params.hubspot_duplicate_rate:
            dup_at = person.created + timedelta(days=rng.uniform(1, 30))
            self.schedule(person, dup_at, self.act_hs_created, "duplicate")
            self.schedule(person, dup_at + timedelta(days=rng.uniform(1, 20)), self.act_hs_merge)
        if rng.random() < params.mql_rate:
            lo = max(person.created + timedelta(days=1), self.start + timedelta(hours=1))
            if lo < self.end - timedelta(days=1):
                mql_at = lo + timedelta(seconds=rng.uniform(0, (self.end - timedelta(days=1) - lo).total_seconds()))
                self.schedule(person, mql_at - timedelta(seconds=rng.randrange(20, 600)), self.act_hs_form,
                              "Demo Request")
                self.schedule(person, mql_at, self.act_hs_mql)
        elif rng.random() < params.deleted_rate / (1 - params.mql_rate):
            self.schedule(person, person.created + timedelta(days=rng.uniform(3, 120)), self.act_hs_delete)

    def act_hs_merge(self, person: Person, at: datetime) -> None:
        loser, winner = person.hs_duplicate, person.hs_contact
        if loser is None or person.deleted:
            return
        at = self.hs_write(loser, at, archived=True)
        merged = ";".join(filter(None, (winner.data["properties"]["hs_merged_object_ids"], loser.id)))
        self.hs_write(winner, at, hs_merged_object_ids=merged)
        self.event(at, "record_merged", person=person.key, system="hubspot", object="contacts", id=loser.id,
                   into=winner.id)

    def act_hs_delete(self, person: Person, at: datetime) -> None:
        if person.deleted or person.stage != "prospect":
            return
        at = self.hs_write(person.hs_contact, at, archived=True)
        self.event(at, "record_deleted", person=person.key, system="hubspot", object="contacts", id=person.hs_contact.id)
        person.deleted = True

    def act_hs_mql(self, person: Person, at: datetime) -> None:
        if person.deleted or person.stage not in ("prospect", "recycled"):
            return
        rng = person.rng
        owner, expected, worker = self.route(person, "hubspot")
        contact = person.hs_contact
        at = self.hs_write(contact, at, lifecyclestage="marketingqualifiedlead", hs_lead_status="NEW",
                           hubspot_owner_id=owner.id if owner else None)
        self.stage(person, at, "mql", "hubspot")
        self.event(at, "crm_handoff", person=person.key, system="hubspot", object="contacts", id=contact.id,
                   owner=owner.id if owner else None, expected_owner=expected.id if expected else None)
        self.note_context(person, at, contact, "handoff")
        plan = self.plan_attempts(person, at)
        # A misrouted HubSpot contact keeps its owner while another rep works it: the loader reads
        # the history of lifecyclestage and hs_lead_status only, so an owner change would hide
        # the owner at handoff.
        for t, channel in plan["touches"]:
            self.schedule(person, t, self.act_hs_touch, worker, channel)
        if plan.get("duplicate") and plan["touches"]:
            other_pool = self.hs_owners["ae"] if worker.role == "sdr" else self.hs_owners["sdr"]
            other = rng.choice([u for u in other_pool if u is not worker])
            base = rng.choice(plan["touches"])[0]
            self.schedule(person, add_business_minutes(base, rng.uniform(240, 2400)), self.act_hs_touch, other,
                          rng.choice(CHANNELS))
        if plan["sal_at"]:
            self.schedule(person, plan["sal_at"], self.act_hs_status, "ATTEMPTED_TO_CONTACT", None)
        outcome = plan["outcome"]
        if outcome == "converted":
            ae = worker if worker.role == "ae" else (expected or self.pick(self.hs_owners["ae"], "hs-converter"))
            self.schedule(person, plan["outcome_at"], self.act_hs_convert, ae)
        elif outcome in ("disqualified", "recycled"):
            self.schedule(person, plan["outcome_at"], self.act_hs_status,
                          "UNQUALIFIED" if outcome == "disqualified" else "BAD_TIMING", plan["reason"])

    def act_hs_touch(self, person: Person, at: datetime, user: User, channel: str) -> None:
        contact = person.hs_contact
        rng = person.rng
        assoc = {"contacts": [contact.id]}
        stamp = hs_datetime(at)
        if channel == "call":
            rec = self.hs_new("calls", at, {"hs_timestamp": stamp, "hs_call_status": "COMPLETED",
                                            "hs_call_direction": "OUTBOUND", "hs_call_title": "Intro call",
                                            "hubspot_owner_id": user.id}, associations=assoc)
        elif channel == "email":
            rec = self.hs_new("emails", at, {"hs_timestamp": stamp, "hs_email_direction": "EMAIL",
                                             "hs_email_status": "SENT", "hs_email_subject": "Following up",
                                             "hubspot_owner_id": user.id}, associations=assoc)
        else:
            booked = at - timedelta(hours=rng.uniform(2, 48))
            rec = self.hs_new("meetings", max(booked, contact.last), {
                "hs_timestamp": stamp, "hs_meeting_title": "Discovery", "hs_meeting_start_time": stamp,
                "hs_meeting_end_time": hs_datetime(at + timedelta(minutes=30)), "hs_meeting_outcome": "COMPLETED",
                "hubspot_owner_id": user.id}, associations=assoc)
        self.event(at, "sales_touch", person=person.key, system="hubspot", object=rec.object, id=rec.id,
                   user=user.id, role=user.role, channel=channel)
        if rng.random() < 0.15:   # reps leave themselves follow-up tasks: logged, but no touch
            task_at = at + timedelta(minutes=5)
            task = self.hs_new("tasks", task_at, {"hs_timestamp": hs_datetime(task_at + timedelta(days=2)),
                                                  "hs_task_subject": "Follow up", "hs_task_status": "NOT_STARTED",
                                                  "hs_task_type": "TODO", "hubspot_owner_id": user.id},
                               associations=assoc)
            self.event(task_at, "other_activity", person=person.key, system="hubspot", object="tasks", id=task.id,
                       user=user.id, role=user.role, why="an open task is no touch")

    def act_hs_status(self, person: Person, at: datetime, status: str, reason: str | None) -> None:
        contact = person.hs_contact
        if person.stage in ("sql", "opportunity", "customer"):
            return
        changes = {"hs_lead_status": status}
        if status in ("UNQUALIFIED", "BAD_TIMING"):
            changes["lead_status_reason"] = reason
        at = self.hs_write(contact, at, **changes)
        stage = {"ATTEMPTED_TO_CONTACT": "sal", "UNQUALIFIED": "disqualified", "BAD_TIMING": "recycled"}[status]
        self.stage(person, at, stage, "hubspot", reason)

    def act_hs_convert(self, person: Person, at: datetime, ae: User) -> None:
        if person.stage in ("disqualified", "recycled"):
            return
        rng = person.rng
        contact = person.hs_contact
        # hs_lead_status stays as it is: IN_PROGRESS would be a second (sal) sign at the same instant.
        at = self.hs_write(contact, at, lifecyclestage="salesqualifiedlead")
        self.event(at, "converted", person=person.key, lead=None, contact=contact.id,
                   account=person.company.hs_company_id)
        self.stage(person, at, "sql", "hubspot")
        if rng.random() < self.params.opportunity_after_sql_rate:
            opened = add_business_minutes(at, rng.uniform(480, 4800))
            self.schedule(person, opened, self.act_hs_deal_open, ae, round(rng.lognormvariate(math.log(25_000), 0.7), -2))

    def act_hs_deal_open(self, person: Person, at: datetime, ae: User, amount: float) -> None:
        rng = person.rng
        company = person.company
        close_plan = at + timedelta(days=rng.uniform(25, 110))
        deal = self.hs_new("deals", at, {
            "dealname": f"{company.name} - New Business", "amount": str(int(amount)), "dealstage": "appointmentscheduled",
            "pipeline": "default", "closedate": hs_datetime(close_plan), "hs_is_closed": "false",
            "hs_is_closed_won": "false", "hubspot_owner_id": ae.id},
            associations={"contacts": [person.hs_contact.id], "companies": [company.hs_company_id]})
        person.deal = deal
        at = deal.last
        self.hs_write(person.hs_contact, at, lifecyclestage="opportunity")
        self.event(at, "opportunity_created", system="hubspot", id=deal.id, account=company.hs_company_id,
                   owner=ae.id, amount=amount, persons=[person.key])
        self.event(at, "contact_role_added", system="hubspot", id=f"{deal.id}:{person.hs_contact.id}",
                   opportunity=deal.id, person=person.key, contact=person.hs_contact.id)
        self.stage(person, at, "opportunity", "hubspot")
        t = at
        for stage in ("qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin", "contractsent"):
            t += timedelta(days=rng.uniform(4, 18))
            if t > close_plan:
                break
            self.schedule(person, t, self.act_hs_deal_stage, stage)
        self.schedule(person, max(t, close_plan) + timedelta(days=rng.uniform(0, 5)), self.act_hs_deal_close,
                      rng.random() < self.params.win_rate)
        touch = add_business_minutes(at, rng.uniform(480, 2400))
        while touch < close_plan:
            self.schedule(person, touch, self.act_hs_touch, ae, rng.choice(("call", "email", "meeting")))
            touch = add_business_minutes(touch, rng.uniform(1440, 4800)) + timedelta(seconds=rng.randrange(60))

    def act_hs_deal_stage(self, person: Person, at: datetime, stage: str) -> None:
        if person.deal.data["properties"]["hs_is_closed"] == "true":
            return
        at = self.hs_write(person.deal, at, dealstage=stage)
        self.event(at, "opportunity_stage", system="hubspot", id=person.deal.id, stage=stage)

    def act_hs_deal_close(self, person: Person, at: datetime, won: bool) -> None:
        deal = person.deal
        stage = "closedwon" if won else "closedlost"
        at = self.hs_write(deal, at, dealstage=stage, hs_is_closed="true", hs_is_closed_won=str(won).lower(),
                           closedate=hs_datetime(at))
        self.event(at, "opportunity_stage", system="hubspot", id=deal.id, stage=stage)
        self.event(at, "opportunity_closed", system="hubspot", id=deal.id, account=person.company.hs_company_id,
                   won=won, amount=float(deal.data["properties"]["amount"]))
        if won:
            at = self.hs_write(person.hs_contact, at, lifecyclestage="customer")
            self.stage(person, at, "customer", "hubspot")

    # ---- everything ------------------------------------------------------------------------
    def build(self) -> None:
        self.build_org()
        self.build_programs()
        self.build_accounts()
        self.build_people()


def build_world(path: str | Path, *, people: int = 3000, seed: int = 7, params: WorldParams | None = None,
                ) -> WorldStore:
    """Write a deterministic world of `people` real people into the SQLite file at `path`."""
    params = params or WorldParams()
    path = Path(path)
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if stale.exists():
            stale.unlink()
    store = WorldStore(path)
    started = time.perf_counter()
    builder = WorldBuilder(store, people, seed, params)
    builder.build()
    store.set_meta("seed", seed)
    store.set_meta("people", people)
    store.set_meta("world_start", params.world_start)
    store.set_meta("world_end", params.world_end)
    store.set_meta("params", asdict(params))
    store.finish()
    store.build_seconds = time.perf_counter() - started  # for the CLI's report; not stored, not deterministic
    return store
