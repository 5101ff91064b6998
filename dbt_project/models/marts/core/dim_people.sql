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
        {{ first_by("email", ["trust_rank"], "email is not null") }} as email,
        {{ first_by("first_name", ["trust_rank"], "first_name is not null") }} as first_name,
        {{ first_by("last_name", ["trust_rank"], "last_name is not null") }} as last_name,
        {{ first_by("title", ["trust_rank"], "title is not null") }} as title,
        {{ first_by("company", ["trust_rank"], "company is not null") }} as company,
        {{ first_by("country", ["trust_rank"], "country is not null") }} as country,
        {{ first_by("source_system || ':' || source_owner_id", ["trust_rank"], "source_owner_id is not null and source_object in ('Contact', 'Lead', 'contacts') and not is_deleted and not (source_object = 'Lead' and is_converted)") }} as crm_owner,
        {{ first_by("original_source", ["created_at nulls last", "record_key"], "original_source is not null") }} as original_source,
        {{ first_by("source_id", ["is_deleted", "is_merged", "created_at", "record_key"], "source_object = 'Lead'") }} as salesforce_lead_id,
        {{ first_by("source_id", ["is_deleted", "is_merged", "created_at", "record_key"], "source_object = 'Contact'") }} as salesforce_contact_id,
        {{ first_by("source_id", ["is_deleted", "is_merged", "created_at", "record_key"], "source_object = 'lead'") }} as marketo_lead_id,
        {{ first_by("source_id", ["is_deleted", "is_merged", "created_at", "record_key"], "source_object = 'contacts'") }} as hubspot_contact_id,
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
         then {{ owner_key(dbt.split_part('attributes.crm_owner', "':'", 1), 'substr(attributes.crm_owner, ' ~ dbt.position("':'", 'attributes.crm_owner') ~ ' + 1)') }}
    end                                as owner_id,
    attributes.original_source,
    case
        when attributes.original_source is null then null
        when {{ regex_matches('attributes.original_source', 'paid|ppc|cpc|adword|sponsored', case_insensitive=true) }} then 'paid'
        when {{ regex_matches('attributes.original_source', 'organic|seo|search', case_insensitive=true) }} then 'organic_search'
        when {{ regex_matches('attributes.original_source', 'social|linkedin|twitter|facebook', case_insensitive=true) }} then 'social'
        when {{ regex_matches('attributes.original_source', 'email', case_insensitive=true) }} then 'email'
        when {{ regex_matches('attributes.original_source', 'referr|partner', case_insensitive=true) }} then 'referral'
        when {{ regex_matches('attributes.original_source', 'webinar', case_insensitive=true) }} then 'webinar'
        when {{ regex_matches('attributes.original_source', 'event|trade ?show|conference', case_insensitive=true) }} then 'event'
        when {{ regex_matches('attributes.original_source', 'direct', case_insensitive=true) }} then 'direct'
        when {{ regex_matches('attributes.original_source', 'web|form|content', case_insensitive=true) }} then 'web'
        else 'other'
    end                                as original_channel,
    attributes.salesforce_lead_id,
    attributes.salesforce_contact_id,
    attributes.marketo_lead_id,
    attributes.hubspot_contact_id,
    attributes.first_seen_at,
    cast(attributes.source_record_count as {{ engine_type('integer') }}) as source_record_count,
    attributes.is_deleted,
    attributes.has_merged_records
from attributes
left join {{ ref('int_people_accounts') }} as accounts using (person_id)
left join current_stage using (person_id)
