"""The sandbox world's HubSpot people: marketing and CRM in HubSpot, and the HubSpot copy of
people who also live in Marketo (a part of WorldBuilder)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from baton_sandbox.world_cast import (
    CHANNELS,
    Person,
    User,
    add_business_minutes,
    epoch_ms,
    hs_datetime,
    whole_seconds,
)


class HubSpotPeople:
    """WorldBuilder's actions for people in HubSpot."""

    def act_hs_mirror_mql(self, person: Person, at: datetime, earliest: bool) -> None:
        if person.hs_contact is None or person.deleted:
            return
        at = self.hs_write(person.hs_contact, at, lifecyclestage="marketingqualifiedlead")
        if earliest:
            self.stage(person, at, "mql", "hubspot")

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
            if self.params.hubspot_firmographics == "company_only":   # the portal keeps them on the company
                props.update(company=None, industry=None, numemployees=None, country=None)
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
