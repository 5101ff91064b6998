{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='opportunity_id',
          rebuilt_keys_from='int_opportunities_changed', on_schema_change='sync_all_columns',
          indexes=[{'columns': ['opportunity_id']}, {'columns': ['person_id']}]) }}
-- One row per opportunity × person with a role on it (Salesforce contact roles, HubSpot deal
-- contacts), with when the role began (the later of the opportunity's and the role's creation).
-- Incremental by opportunity: a build rebuilds the opportunities of int_opportunities_changed.
with salesforce_roles as (
    select
        {{ surrogate_key(["'opportunity'", "'salesforce'", 'roles.opportunity_id']) }} as opportunity_id,
        people.person_id,
        'salesforce' as source_system,
        roles.opportunity_contact_role_id as source_role_id,
        roles.role,
        roles.is_primary,
        greatest(opportunities.created_at, roles.created_at) as role_created_at
    from {{ ref('stg_salesforce__opportunity_contact_roles') }} as roles
    join {{ ref('stg_salesforce__opportunities') }} as opportunities using (opportunity_id)
    join {{ ref('int_people_matched_across_sources') }} as people
      on people.record_key = {{ record_key('salesforce', 'Contact', 'roles.contact_id') }}
    where not roles.is_deleted
        {{ in_change_set(surrogate_key(["'opportunity'", "'salesforce'", 'roles.opportunity_id']),
                         'int_opportunities_changed', 'opportunity_id') }}
),

hubspot_roles as (
    select
        {{ surrogate_key(["'opportunity'", "'hubspot'", 'deals.deal_id']) }},
        people.person_id,
        'hubspot',
        deals.deal_id || ':' || contact.contact_id,
        cast(null as {{ engine_type('text') }}),
        contact.contact_number = 1,
        deals.created_at
    from {{ ref('stg_hubspot__deals') }} as deals
    join (
        select deals.deal_id, contact.contact_id, {{ array_rows_position('contact', 'contact_number') }} as contact_number
        from {{ ref('stg_hubspot__deals') }} as deals
        {{ array_rows('deals.contact_ids', 'contact', 'contact_id', ordinality='contact_number') }}
    ) as contact on contact.deal_id = deals.deal_id
    join {{ ref('int_people_matched_across_sources') }} as people
      on people.record_key = {{ record_key('hubspot', 'contacts', 'contact.contact_id') }}
    where true
        {{ in_change_set(surrogate_key(["'opportunity'", "'hubspot'", 'deals.deal_id']),
                         'int_opportunities_changed', 'opportunity_id') }}
),

roles as (
    select * from salesforce_roles
    union all
    select * from hubspot_roles
)

-- A person holding two roles on one opportunity (two contact records, one person) counts once.
select opportunity_id, person_id, source_system, source_role_id, role, is_primary, role_created_at
    from (
        select
            opportunity_id,
            person_id,
            source_system,
            source_role_id,
            role,
            is_primary,
            role_created_at,
            row_number() over (
                partition by opportunity_id, person_id
                order by role_created_at asc, is_primary desc, source_role_id asc
            ) as distinct_on_rank
        from roles
    ) as first_rows
    where distinct_on_rank = 1
