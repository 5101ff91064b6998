"""The sandbox world: a simulated B2B revenue org, written as vendor record versions plus an event log.

`build_world(path, people=3000, seed=7)` writes a SQLite world (see store.py). Every person is
simulated on their own `random.Random` stream and streamed into the store, so a million-version
world never sits in memory. Within a person, every change is an action on a small time-ordered
queue, so each record's versions are written in time order and carry the right snapshot.

The parts: world_cast.py (WorldParams, time and id formats, names, the records being written),
this module (the org, accounts, campaigns, the people loop, routing and the sales story's plan),
world_marketo.py (Marketo + Salesforce people) and world_hubspot.py (HubSpot people).

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
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path

from baton_sandbox.catalog import (
    HUBSPOT_ASSOCIATIONS,
    HUBSPOT_PROPERTIES,
    MARKETO_PROGRAM_FIELDS,
    SALESFORCE_API_VERSION,
    SALESFORCE_OBJECTS,
)
from baton_sandbox.store import WorldStore
from baton_sandbox.world_cast import (
    CHANNELS,
    COUNTRIES,
    DISQUALIFY_REASONS,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    NO_RESPONSE_REASONS,
    PERSONAL_DOMAINS,
    RECYCLE_REASONS,
    TITLES,
    Company,
    Ids,
    Person,
    Program,
    Rec,
    User,
    WorldParams,
    add_business_minutes,
    ascii_slug,
    company_name,
    domain_of,
    hs_datetime,
    mk_datetime,
    parse_instant,
    sf_date,
    sf_datetime,
    whole_seconds,
)
from baton_sandbox.world_hubspot import HubSpotPeople
from baton_sandbox.world_marketo import MarketoSalesforcePeople

__all__ = ["WorldBuilder", "WorldParams", "add_business_minutes", "build_world"]


# -- the builder -----------------------------------------------------------------------------

class WorldBuilder(MarketoSalesforcePeople, HubSpotPeople):
    """Builds one world into a store: the org first, then each person's whole history in turn."""

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
        """`count` distinct (first, last) names. The first and last names make 1,512 pairs; an org
        needing more than half of them (a world of more than about 160,000 people) draws a taken
        name's second half of a double-barrelled last name, so every name stays distinct (the
        smaller worlds draw exactly as before, and are unchanged)."""
        names: list[tuple[str, str]] = []
        if count <= len(FIRST_NAMES) * len(LAST_NAMES) // 2:
            while len(names) < count:
                name = (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
                if name not in names:
                    names.append(name)
            return names
        taken: set[tuple[str, str]] = set()
        while len(names) < count:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            name, attempt = (first, last), 0
            while name in taken:
                attempt += 1
                barrel = f"{last}-{rng.choice(LAST_NAMES)}"
                name = (first, barrel if attempt <= 8 else f"{barrel}{attempt}")
            taken.add(name)
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
            firmographics = {"name": company.name, "industry": company.industry,
                             "numberofemployees": str(company.employees), "country": company.country}
            if self.params.hubspot_firmographics == "contact_only":
                firmographics = dict.fromkeys(firmographics)
            rec = self.hs_new("companies", created, {
                "name": firmographics["name"], "domain": company.domain, "industry": firmographics["industry"],
                "numberofemployees": firmographics["numberofemployees"], "country": firmographics["country"],
                "hubspot_owner_id": company.hs_owner.id if company.hs_owner else None, "lifecyclestage": "lead"})
            company.hs_company_id = rec.id
            self.event(created, "account_created", system="hubspot", id=rec.id, name=firmographics["name"],
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

    def business_instant(self, rng: random.Random, lo: datetime, hi: datetime) -> datetime:
        t = lo + timedelta(seconds=rng.uniform(0, max(1.0, (hi - lo).total_seconds())))
        return add_business_minutes(t.replace(hour=0, minute=0, second=0), rng.uniform(0, 479))

    @staticmethod
    def poisson(rng: random.Random, mean: float) -> int:
        limit, count, product = math.exp(-mean), 0, rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
        return count

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
    store = WorldStore(path, bulk=True)
    started = time.perf_counter()
    builder = WorldBuilder(store, people, seed, params)
    builder.build()
    store.set_meta("seed", seed)
    store.set_meta("people", people)
    store.set_meta("world_start", params.world_start)
    store.set_meta("world_end", params.world_end)
    recorded = asdict(params)
    if params.hubspot_firmographics == "as_generated":   # so the default world is byte-identical to earlier builds
        del recorded["hubspot_firmographics"]
    store.set_meta("params", recorded)
    store.finish()
    store.build_seconds = time.perf_counter() - started  # for the CLI's report; not stored, not deterministic
    return store
