{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='append_new_columns',
          indexes=[{'columns': ['owner_id']}, {'columns': ['account_id']}, {'columns': ['email']}]) }}
-- One row per real person across all systems. Attributes come from the person's records in
-- order of trust: live before deleted, Salesforce contact, Salesforce lead, HubSpot contact,
-- Marketo lead, then the most recently updated; the first non-empty value wins. Incremental by
-- person (int_people_changed).
with records as (
    select
        people.*,
        row_number() over (
            partition by people.person_id
            order by people.is_deleted asc,
                     case people.source_object when 'Contact' then 1 when 'Lead' then 2 when 'contacts' then 3 else 4 end,
                     people.updated_at desc nulls last, people.record_key asc
        ) as trust_rank
    from {{ ref('int_people_matched_across_sources') }} as people
    where true {{ in_change_set('people.person_id', 'int_people_changed', 'person_id') }}
),

attributes as (
    select
        person_id,
        (array_agg(email order by trust_rank) filter (where email is not null))[1] as email,
        (array_agg(first_name order by trust_rank) filter (where first_name is not null))[1] as first_name,
        (array_agg(last_name order by trust_rank) filter (where last_name is not null))[1] as last_name,
        (array_agg(title order by trust_rank) filter (where title is not null))[1] as title,
        (array_agg(company order by trust_rank) filter (where company is not null))[1] as company,
        (array_agg(country order by trust_rank) filter (where country is not null))[1] as country,
        (array_agg(source_system || ':' || source_owner_id order by trust_rank)
            filter (where source_owner_id is not null and source_object in ('Contact', 'Lead', 'contacts')
                    and not is_deleted and not (source_object = 'Lead' and is_converted)))[1] as crm_owner,
        (array_agg(original_source order by created_at nulls last, record_key)
            filter (where original_source is not null))[1] as original_source,
        (array_agg(source_id order by is_deleted, is_merged, created_at, record_key)
            filter (where source_object = 'Lead'))[1] as salesforce_lead_id,
        (array_agg(source_id order by is_deleted, is_merged, created_at, record_key)
            filter (where source_object = 'Contact'))[1] as salesforce_contact_id,
        (array_agg(source_id order by is_deleted, is_merged, created_at, record_key)
            filter (where source_object = 'lead'))[1] as marketo_lead_id,
        (array_agg(source_id order by is_deleted, is_merged, created_at, record_key)
            filter (where source_object = 'contacts'))[1] as hubspot_contact_id,
        min(created_at) as first_seen_at,
        count(*) as source_record_count,
        bool_and(is_deleted) as is_deleted,
        bool_or(is_merged) as has_merged_records
    from records
    group by person_id
),

current_stage as (
    select person_id, stage, entered_at
    from {{ ref('fct_lifecycle_stage_history') }}
    where is_current
)

select
    attributes.person_id,
    attributes.email,
    attributes.first_name,
    attributes.last_name,
    attributes.title,
    attributes.company,
    attributes.country,
    accounts.account_id,
    current_stage.stage                as lifecycle_stage,
    current_stage.entered_at           as lifecycle_stage_entered_at,
    case when attributes.crm_owner is not null
         then {{ owner_key("split_part(attributes.crm_owner, ':', 1)", "substr(attributes.crm_owner, strpos(attributes.crm_owner, ':') + 1)") }}
    end                                as owner_id,
    attributes.original_source,
    case
        when attributes.original_source is null then null
        when attributes.original_source ~* 'paid|ppc|cpc|adword|sponsored' then 'paid'
        when attributes.original_source ~* 'organic|seo|search' then 'organic_search'
        when attributes.original_source ~* 'social|linkedin|twitter|facebook' then 'social'
        when attributes.original_source ~* 'email' then 'email'
        when attributes.original_source ~* 'referr|partner' then 'referral'
        when attributes.original_source ~* 'webinar' then 'webinar'
        when attributes.original_source ~* 'event|trade ?show|conference' then 'event'
        when attributes.original_source ~* 'direct' then 'direct'
        when attributes.original_source ~* 'web|form|content' then 'web'
        else 'other'
    end                                as original_channel,
    attributes.salesforce_lead_id,
    attributes.salesforce_contact_id,
    attributes.marketo_lead_id,
    attributes.hubspot_contact_id,
    attributes.first_seen_at,
    attributes.source_record_count::integer as source_record_count,
    attributes.is_deleted,
    attributes.has_merged_records
from attributes
left join {{ ref('int_people_accounts') }} as accounts using (person_id)
left join current_stage using (person_id)
