"""quality.lead_context_flags: each handoff's CRM record, field by field, as it stands at as-of.

CONTRACT.md §6: every handoff is checked for the context a rep needs on its CRM record (the
Salesforce lead or contact, or the HubSpot contact); each missing field (null, blank or
"[not provided]") is one row, so sales ops can fix records, not read a percentage.

Which record is "the handoff's CRM record": the one the handoff reached, as fct_handoffs names
it (`crm_source_system`, `crm_source_object`, `crm_source_id`; a converted lead stays the
handoff's record). A fct_handoffs without those columns (they are not among the contract's
key columns) falls back to the person's live Salesforce leads and contacts and HubSpot
contacts in marts.dim_people_identities: the one in the CRM the handoff's owner works in,
a contact before a lead, then the most recently updated.

The raw tables hold each record's latest loaded state, which at a nightly run is the state
at as-of. A Salesforce contact carries no company fields of its own, so company, industry
and employee count are read from its account, as the rep sees them on the page.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import yaml

from baton.paths import DBT_PROJECT_DIR

log = logging.getLogger("baton.quality")

CONTEXT_FIELDS = ("email", "company", "title", "industry", "employee_count", "country", "lead_source",
                  "marketing_touch_count", "last_marketing_touch_at")

# How much each gap hurts the first call: no email, no call; no company or history, a cold call.
FIELD_SEVERITY = {
    "email": "high", "company": "high", "marketing_touch_count": "medium", "last_marketing_touch_at": "medium",
    "lead_source": "medium", "title": "low", "industry": "low", "employee_count": "low", "country": "low",
}

# The org-specific behavioural-summary fields are dbt vars (CONTRACT.md §4); read them from one place.
_FIELD_VARS = {
    "salesforce_marketing_touch_count_field": "Marketing_Touch_Count__c",
    "salesforce_last_marketing_touch_field": "Last_Marketing_Touch_At__c",
    "hubspot_marketing_touch_count_property": "num_conversion_events",
    "hubspot_last_marketing_touch_property": "recent_conversion_date",
}


def behavioural_fields(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, str]:
    try:
        declared = yaml.safe_load((project_dir / "dbt_project.yml").read_text()).get("vars", {}) or {}
    except (OSError, yaml.YAMLError):
        declared = {}
    return {name: str(declared.get(name) or default) for name, default in _FIELD_VARS.items()}


def _record_fields_sql(fields: dict[str, str]) -> str:
    sf_count, sf_last = fields["salesforce_marketing_touch_count_field"], fields["salesforce_last_marketing_touch_field"]
    hs_count, hs_last = fields["hubspot_marketing_touch_count_property"], fields["hubspot_last_marketing_touch_property"]

    def pairs(mapping: dict[str, str]) -> str:
        return ", ".join(f"('{name}', {mapping[name]})" for name in CONTEXT_FIELDS)

    lead = pairs({
        "email": "r.data ->> 'Email'", "company": "r.data ->> 'Company'", "title": "r.data ->> 'Title'",
        "industry": "r.data ->> 'Industry'", "employee_count": "r.data ->> 'NumberOfEmployees'",
        "country": "r.data ->> 'Country'", "lead_source": "r.data ->> 'LeadSource'",
        "marketing_touch_count": f"r.data ->> '{sf_count}'", "last_marketing_touch_at": f"r.data ->> '{sf_last}'",
    })
    contact = pairs({
        "email": "r.data ->> 'Email'", "company": "a.data ->> 'Name'", "title": "r.data ->> 'Title'",
        "industry": "a.data ->> 'Industry'", "employee_count": "a.data ->> 'NumberOfEmployees'",
        "country": "r.data ->> 'MailingCountry'", "lead_source": "r.data ->> 'LeadSource'",
        "marketing_touch_count": f"r.data ->> '{sf_count}'", "last_marketing_touch_at": f"r.data ->> '{sf_last}'",
    })
    hubspot = pairs({name: f"r.data -> 'properties' ->> '{prop}'" for name, prop in {
        "email": "email", "company": "company", "title": "jobtitle", "industry": "industry",
        "employee_count": "numemployees", "country": "country", "lead_source": "hs_analytics_source",
        "marketing_touch_count": hs_count, "last_marketing_touch_at": hs_last,
    }.items()})
    return f"""
        select c.handoff_id, c.person_id, c.owner_id, c.source_system, c.source_object, c.source_id,
               f.field_name, f.value
        from chosen c
        join raw_salesforce.lead r on c.source_system = 'salesforce' and c.source_object = 'Lead' and r.id = c.source_id
        cross join lateral (values {lead}) as f(field_name, value)
        union all
        select c.handoff_id, c.person_id, c.owner_id, c.source_system, c.source_object, c.source_id,
               f.field_name, f.value
        from chosen c
        join raw_salesforce.contact r on c.source_system = 'salesforce' and c.source_object = 'Contact' and r.id = c.source_id
        left join raw_salesforce.account a on a.id = r.data ->> 'AccountId' and not a.is_deleted
        cross join lateral (values {contact}) as f(field_name, value)
        union all
        select c.handoff_id, c.person_id, c.owner_id, c.source_system, c.source_object, c.source_id,
               f.field_name, f.value
        from chosen c
        join raw_hubspot.contact r on c.source_system = 'hubspot' and c.source_object = 'contacts' and r.id = c.source_id
        cross join lateral (values {hubspot}) as f(field_name, value)
    """


HANDOFF_RECORD_COLUMNS = ("crm_source_system", "crm_source_object", "crm_source_id")


def _chosen_by_handoff_sql(marts: str) -> str:
    return f"""
        select handoff_id, person_id, owner_id, crm_source_system as source_system,
               crm_source_object as source_object, crm_source_id as source_id
        from {marts}.fct_handoffs
        where crm_source_id is not null"""


def _chosen_by_identity_sql(marts: str) -> str:
    return f"""
        select handoff_id, person_id, owner_id, source_system, source_object, source_id
        from (
            select h.handoff_id, h.person_id, h.owner_id, i.source_system, i.source_object, i.source_id,
                   row_number() over (
                       partition by h.handoff_id
                       order by (i.source_system = o.source_system) desc nulls last,
                                case i.source_object when 'Contact' then 0 when 'contacts' then 0 else 1 end,
                                i.source_updated_at desc nulls last, i.source_id
                   ) as preference
            from {marts}.fct_handoffs h
            join {marts}.dim_people_identities i
              on i.person_id = h.person_id
             and (i.source_system, i.source_object) in (('salesforce', 'Lead'), ('salesforce', 'Contact'),
                                                        ('hubspot', 'contacts'))
             and not coalesce(i.is_deleted, false) and not coalesce(i.is_merged, false)
            left join {marts}.dim_owners o on o.owner_id = h.owner_id
        ) as candidates
        where preference = 1"""


def flags_sql(marts_schema: str, fields: dict[str, str] | None = None, *, handoffs_name_their_record: bool = True) -> str:
    """The query listing one row per handoff and missing field (handoffs read from `marts_schema`)."""
    marts = '"' + marts_schema + '"'
    severity = " ".join(f"when '{name}' then '{level}'" for name, level in FIELD_SEVERITY.items())
    chosen = _chosen_by_handoff_sql(marts) if handoffs_name_their_record else _chosen_by_identity_sql(marts)
    return f"""
        with chosen as ({chosen}),
        record_fields as ({_record_fields_sql(fields or behavioural_fields())})
        select handoff_id, person_id, owner_id, field_name,
               case field_name {severity} end as severity,
               source_system, source_object, source_id
        from record_fields
        where value is null or btrim(value) = '' or lower(btrim(value)) = '[not provided]'
    """


def refresh_lead_context_flags(conn, *, marts_schema: str, checked_at: datetime, run_id: str) -> dict | None:
    """Replace quality.lead_context_flags with this run's flags; None when there are no handoffs to check."""
    columns = {row[0] for row in conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = 'fct_handoffs'",
        (marts_schema,))}
    by_handoff = set(HANDOFF_RECORD_COLUMNS) <= columns
    needed = [f"{marts_schema}.fct_handoffs", "raw_salesforce.lead", "raw_salesforce.contact",
              "raw_salesforce.account", "raw_hubspot.contact"]
    if not by_handoff:
        needed += [f"{marts_schema}.dim_people_identities", f"{marts_schema}.dim_owners"]
    missing = [name for name in needed
               if conn.execute("select to_regclass(%s) is null", ('"' + '"."'.join(name.split(".")) + '"',)).fetchone()[0]]
    if missing:
        log.info("lead context flags not computed: %s not built yet", ", ".join(missing))
        return None
    conn.execute("delete from quality.lead_context_flags")
    conn.execute(f"""
        insert into quality.lead_context_flags
            (handoff_id, person_id, owner_id, field_name, severity, checked_at, source_system, source_object,
             source_id, run_id)
        select handoff_id, person_id, owner_id, field_name, severity, %s, source_system, source_object,
               source_id, %s
        from ({flags_sql(marts_schema, handoffs_name_their_record=by_handoff)}) as flags""", (checked_at, run_id))
    by_field = dict(conn.execute(
        "select field_name, count(*) from quality.lead_context_flags group by 1 order by 1").fetchall())
    handoffs, flagged = conn.execute(f"""
        select (select count(*) from "{marts_schema}".fct_handoffs),
               (select count(distinct handoff_id) from quality.lead_context_flags)""").fetchone()
    return {"handoffs": handoffs, "handoffs_flagged": flagged, "flags": sum(by_field.values()), "by_field": by_field}
