{#- Batch joins when rebuilding everything (hash joins, not nested loops guessed from CTE estimates); no
    JIT compile of the large plan. Incremental by person: a build rebuilds the people of int_people_changed. -#}
{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='sync_all_columns',
          pre_hook="{{ batch_join_settings() }}",
          indexes=[{'columns': ['person_id']}, {'columns': ['handoff_id'], 'unique': true}]) }}
{#-
    One row per handoff: its CRM record (the Salesforce lead or contact, or the HubSpot contact
    the handoff reached; int_handoffs_identified) and that record's fields as they stand at
    as-of, "as the rep sees it on the page":
    - a Salesforce contact's company, industry and employee count are its account's;
    - a HubSpot contact's company, industry, employee count and country are its own property
      when present (not null, empty or a context_missing_markers value), else its primary
      associated company's (associatedcompanyid, else the first associated company);
    - email, title, lead source, the behavioural-summary fields and the reasons are the record's own.
    Handoffs that never reached a CRM record have a row with null record columns.
    The one place every handoff model reads the handoff's CRM record from.
-#}

with handoffs as (
    select handoff_id, person_id, crm_record_key, crm_source_system, crm_source_object, crm_source_id
    from {{ ref('int_handoffs_identified') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

salesforce_leads as (
    select
        lead_id, owner_id, email, company, title, industry, employee_count, country, lead_source,
        marketing_touch_count, last_marketing_touch_at, disqualified_reason, recycled_reason
    from {{ ref('stg_salesforce__leads') }}
),

salesforce_contacts as (
    select
        contact_id, account_id, owner_id, email, title, country, lead_source,
        marketing_touch_count, last_marketing_touch_at, disqualified_reason, recycled_reason
    from {{ ref('stg_salesforce__contacts') }}
),

salesforce_accounts as (
    select account_id, name, industry, employee_count
    from {{ ref('stg_salesforce__accounts') }}
),

hubspot_contacts as (
    select
        contact_id,
        owner_id,
        email,
        company,
        title,
        industry,
        employee_count,
        country,
        analytics_source,
        marketing_touch_count,
        last_marketing_touch_at,
        lead_status_reason,
        coalesce(associated_company_id, {{ array_first('company_ids') }}) as primary_company_id
    from {{ ref('stg_hubspot__contacts') }}
),

hubspot_companies as (
    select company_id, name, industry, employee_count, country
    from {{ ref('stg_hubspot__companies') }}
    where not is_deleted
)

select
    handoffs.handoff_id,
    handoffs.person_id,
    handoffs.crm_record_key as record_key,
    handoffs.crm_source_system as source_system,
    handoffs.crm_source_object as source_object,
    handoffs.crm_source_id as source_id,
    coalesce(leads.owner_id, contacts.owner_id, hubspot.owner_id) as source_owner_id,
    coalesce(leads.email, contacts.email, hubspot.email) as email,
    coalesce(
        leads.company,
        accounts.name,
        {{ own_value_else('hubspot.company', 'hubspot_companies.name') }}
    ) as company,
    coalesce(leads.title, contacts.title, hubspot.title) as title,
    coalesce(
        leads.industry,
        accounts.industry,
        {{ own_value_else('hubspot.industry', 'hubspot_companies.industry') }}
    ) as industry,
    coalesce(
        cast(leads.employee_count as {{ engine_type('text') }}),
        cast(accounts.employee_count as {{ engine_type('text') }}),
        {{ own_value_else('cast(hubspot.employee_count as ' ~ engine_type('text') ~ ')', 'cast(hubspot_companies.employee_count as ' ~ engine_type('text') ~ ')') }}
    ) as employee_count,
    coalesce(
        leads.country,
        contacts.country,
        {{ own_value_else('hubspot.country', 'hubspot_companies.country') }}
    ) as country,
    coalesce(leads.lead_source, contacts.lead_source, hubspot.analytics_source) as lead_source,
    coalesce(
        leads.marketing_touch_count, contacts.marketing_touch_count, hubspot.marketing_touch_count
    ) as marketing_touch_count,
    coalesce(
        leads.last_marketing_touch_at, contacts.last_marketing_touch_at, hubspot.last_marketing_touch_at
    ) as last_marketing_touch_at,
    coalesce(leads.disqualified_reason, contacts.disqualified_reason, hubspot.lead_status_reason)
        as disqualified_reason,
    coalesce(leads.recycled_reason, contacts.recycled_reason, hubspot.lead_status_reason) as recycled_reason
from handoffs
left join salesforce_leads as leads
    on handoffs.crm_source_object = 'Lead' and handoffs.crm_source_id = leads.lead_id
left join salesforce_contacts as contacts
    on handoffs.crm_source_object = 'Contact' and handoffs.crm_source_id = contacts.contact_id
left join salesforce_accounts as accounts
    on contacts.account_id = accounts.account_id
left join hubspot_contacts as hubspot
    on handoffs.crm_source_object = 'contacts' and handoffs.crm_source_id = hubspot.contact_id
left join hubspot_companies
    on hubspot.primary_company_id = hubspot_companies.company_id
