"""The sandbox world's cast and vocabulary: rates, time and id formats, names, and the records
the builder writes (see world.py)."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from baton_sandbox.catalog import SALESFORCE_ID_PREFIX

UTC = timezone.utc
NO_RESPONSE_REASONS = ("No Response", "Unresponsive")
DISQUALIFY_REASONS = ("Not a Fit", "No Budget", "Competitor", "Student", "Wrong Contact")
RECYCLE_REASONS = ("Bad Timing", "No Budget This Quarter", "Nurture Further")
PERSONAL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com")
# Where HubSpot keeps firmographics (company, industry, size, country): both the contact and its
# associated company (as generated), only the company, or only the contact.
HUBSPOT_FIRMOGRAPHICS = ("as_generated", "company_only", "contact_only")


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
    hubspot_firmographics: str = "as_generated"  # or company_only / contact_only (HUBSPOT_FIRMOGRAPHICS)

    def __post_init__(self):
        for name, value in asdict(self).items():
            if name.endswith(("_rate", "_share")) and not 0.0 <= value <= 1.0:
                raise ValueError(f"WorldParams.{name} must be between 0 and 1, got {value!r}")
        if self.mql_rate >= 1.0:
            raise ValueError("WorldParams.mql_rate must stay below 1 (some people never qualify)")
        if self.hubspot_only_share + self.marketo_and_hubspot_share > 1.0:
            raise ValueError("WorldParams: hubspot_only_share + marketo_and_hubspot_share must not exceed 1")
        if self.hubspot_firmographics not in HUBSPOT_FIRMOGRAPHICS:
            raise ValueError(f"WorldParams.hubspot_firmographics must be one of {', '.join(HUBSPOT_FIRMOGRAPHICS)}, "
                             f"got {self.hubspot_firmographics!r}")
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
    account_rec: Rec | None = None
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
