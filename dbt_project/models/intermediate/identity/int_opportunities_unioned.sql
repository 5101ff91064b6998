{#-
    One row per opportunity (Salesforce opportunities and HubSpot deals) with its account
    (int_accounts_matched_across_sources) and owner keys. closed_at is when the opportunity
    closed: its last StageName change in Salesforce history (else its close date), HubSpot's
    closedate.
-#}

-- depends_on: {{ ref('int_people_changed') }} (built after it: it reads what the last build matched)
with opportunity_field_history as (
    select opportunity_id, field, created_at, is_deleted
    from {{ ref('stg_salesforce__opportunity_field_history') }}
),

salesforce_opportunities as (
    select * from {{ ref('stg_salesforce__opportunities') }}
),

hubspot_deals as (
    select * from {{ ref('stg_hubspot__deals') }}
),

salesforce_closes as (
    select opportunity_id, max(created_at) as last_stage_change_at
    from opportunity_field_history
    where field = 'StageName' and not is_deleted
    group by opportunity_id
),

account_records as (
    select * from {{ ref('int_accounts_matched_across_sources') }}
),

opportunities as (
    select
        'salesforce' as source_system,
        opportunities.opportunity_id as source_id,
        opportunities.name,
        account_records.account_id,
        case when opportunities.owner_id is not null then {{ owner_key("'salesforce'", 'opportunities.owner_id') }} end as owner_id,
        opportunities.created_at,
        case when opportunities.is_closed
             then coalesce(salesforce_closes.last_stage_change_at, cast(opportunities.close_date as {{ engine_type('timestamptz') }})) end as closed_at,
        opportunities.close_date,
        opportunities.stage_name as stage,
        opportunities.is_closed,
        opportunities.is_won,
        opportunities.amount,
        opportunities.lead_source,
        opportunities.campaign_id,
        opportunities.is_deleted
    from salesforce_opportunities as opportunities
    left join salesforce_closes using (opportunity_id)
    left join account_records
      on account_records.source_system = 'salesforce' and account_records.source_id = opportunities.account_id
    union all
    select
        'hubspot',
        deals.deal_id,
        deals.name,
        account_records.account_id,
        case when deals.owner_id is not null then {{ owner_key("'hubspot'", 'deals.owner_id') }} end,
        deals.created_at,
        case when deals.is_closed then deals.close_at end,
        cast(deals.close_at as {{ engine_type('date') }}),
        deals.deal_stage,
        deals.is_closed,
        deals.is_won,
        deals.amount,
        null,
        null,
        deals.is_deleted
    from hubspot_deals as deals
    left join account_records
      on account_records.source_system = 'hubspot' and account_records.source_id = {{ array_first('deals.company_ids') }}
)

select * from opportunities
