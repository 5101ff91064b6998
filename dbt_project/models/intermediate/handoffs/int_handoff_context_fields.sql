{#- Batch joins: hash joins, not nested loops guessed from CTE estimates; no JIT compile of the large plan. -#}
{{ config(pre_hook=["set local jit = off", "set local enable_nestloop = off"]) }}
{#-
    One row per handoff × required context field (CONTRACT.md §6): the value the handoff's CRM
    record (Salesforce lead or contact, HubSpot contact) carries as it stands at as-of, and
    whether it is missing (null, empty or "[not provided]"). A Salesforce contact's company,
    industry and employee count are its account's. Handoffs that never reached a CRM record have
    no rows: there is no record to judge (they are misrouted instead, having no owner).
    The quality checks (quality.lead_context_flags) and context_stripped read this model.
-#}
{%- set missing_markers = var('context_missing_markers', ['', '[not provided]']) -%}

with handoffs as (
    select handoff_id, person_id, crm_source_object, crm_source_id
    from {{ ref('int_handoffs_identified') }}
    where crm_source_id is not null
),

record_values as (
    select
        handoffs.handoff_id,
        handoffs.person_id,
        coalesce(leads.email, contacts.email, hubspot.email)                                  as email,
        coalesce(leads.company, accounts.name, hubspot.company)                               as company,
        coalesce(leads.title, contacts.title, hubspot.title)                                  as title,
        coalesce(leads.industry, accounts.industry, hubspot.industry)                         as industry,
        coalesce(leads.employee_count, accounts.employee_count, hubspot.employee_count)::text as employee_count,
        coalesce(leads.country, contacts.country, hubspot.country)                            as country,
        coalesce(leads.lead_source, contacts.lead_source, hubspot.analytics_source)           as lead_source,
        coalesce(leads.marketing_touch_count, contacts.marketing_touch_count, hubspot.marketing_touch_count)
                                                                                              as marketing_touch_count,
        coalesce(leads.last_marketing_touch_at, contacts.last_marketing_touch_at, hubspot.last_marketing_touch_at)
                                                                                              as last_marketing_touch_at
    from handoffs
    left join {{ ref('stg_salesforce__leads') }} as leads
      on handoffs.crm_source_object = 'Lead' and leads.lead_id = handoffs.crm_source_id
    left join {{ ref('stg_salesforce__contacts') }} as contacts
      on handoffs.crm_source_object = 'Contact' and contacts.contact_id = handoffs.crm_source_id
    left join {{ ref('stg_salesforce__accounts') }} as accounts
      on accounts.account_id = contacts.account_id
    left join {{ ref('stg_hubspot__contacts') }} as hubspot
      on handoffs.crm_source_object = 'contacts' and hubspot.contact_id = handoffs.crm_source_id
)

select
    record_values.handoff_id,
    record_values.person_id,
    fields.field_name,
    fields.field_group,
    fields.field_value,
    (fields.field_value is null
     or lower(trim(fields.field_value)) in (
        {%- for marker in missing_markers %}'{{ marker | lower }}'{{ ", " if not loop.last }}{% endfor -%}
     ))                                                                                       as is_missing
from record_values
cross join lateral (
    values
        ('email', 'contact', record_values.email),
        ('company', 'firmographic', record_values.company),
        ('title', 'person', record_values.title),
        ('industry', 'firmographic', record_values.industry),
        ('employee_count', 'firmographic', record_values.employee_count),
        ('country', 'firmographic', record_values.country),
        ('lead_source', 'source', record_values.lead_source),
        ('marketing_touch_count', 'behavioural', record_values.marketing_touch_count),
        ('last_marketing_touch_at', 'behavioural', record_values.last_marketing_touch_at)
) as fields(field_name, field_group, field_value)
