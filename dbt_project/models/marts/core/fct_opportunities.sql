{{ config(indexes=[{'columns': ['account_id']}, {'columns': ['owner_id']}, {'columns': ['primary_person_id']}]) }}
-- One row per opportunity (Salesforce opportunities and HubSpot deals; int_opportunities_unioned)
-- with its primary contact's person.
with opportunities as (
    select * from {{ ref('int_opportunities_unioned') }}
),

contact_roles as (
    select opportunity_id, person_id, is_primary, role_created_at from {{ ref('int_opportunity_contact_roles') }}
),

primary_people as (
    select opportunity_id, person_id
    from (
        select
            opportunity_id,
            person_id,
            row_number() over (
                partition by opportunity_id
                order by is_primary desc, role_created_at asc, person_id asc
            ) as distinct_on_rank
        from contact_roles
    ) as first_rows
    where distinct_on_rank = 1
)

select
    {{ surrogate_key(["'opportunity'", 'opportunities.source_system', 'opportunities.source_id']) }} as opportunity_id,
    opportunities.source_system,
    opportunities.source_id,
    opportunities.name,
    opportunities.account_id,
    opportunities.owner_id,
    opportunities.created_at,
    opportunities.closed_at,
    opportunities.close_date,
    opportunities.stage,
    opportunities.is_closed,
    opportunities.is_won,
    cast(opportunities.amount as {{ engine_type('numeric(18, 2)') }}) as amount,
    primary_people.person_id as primary_person_id,
    opportunities.lead_source,
    opportunities.campaign_id,
    opportunities.is_deleted
from opportunities
left join primary_people
  on primary_people.opportunity_id = {{ surrogate_key(["'opportunity'", 'opportunities.source_system', 'opportunities.source_id']) }}
