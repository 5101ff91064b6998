"""The sandbox world's Marketo + Salesforce people: marketing in Marketo, the handoff to a
Salesforce Lead, the sales story, conversion and the opportunity (a part of WorldBuilder)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from baton_sandbox.catalog import MARKETO_LEAD_FIELDS
from baton_sandbox.world_cast import (
    CHANNELS,
    WEB_PAGES,
    Person,
    Program,
    Rec,
    User,
    add_business_minutes,
    sf_date,
    sf_datetime,
    whole_seconds,
)


class MarketoSalesforcePeople:
    """WorldBuilder's actions for people on the Marketo + Salesforce stack."""

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
