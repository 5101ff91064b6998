{#-
    One row per source × campaign × month: the feedback loop to marketing - what sales did with
    the handoffs of each original source and campaign. The campaign is that of the person's
    latest marketing touch before the handoff (Marketo program, Salesforce campaign, HubSpot
    form or email campaign); the month is the handoff's. Accepted counts handoffs that reached
    sal (whatever came after); disqualified includes no_response; the reasons are listed with
    their counts.
-#}
with handoffs as (
    select * from {{ ref('fct_handoffs') }}
),

named_campaigns as (
    select campaign_id, name from {{ ref('int_campaigns_unioned') }}
),

people as (
    select person_id, original_source from {{ ref('dim_people') }}
),

rows as (
    select
        coalesce(people.original_source, 'unknown')                                   as source,
        coalesce(handoffs.last_touch_campaign_id, 'none')                             as campaign_id,
        named_campaigns.name                                                          as campaign_name,
        date_trunc('month', handoffs.handed_off_at at time zone 'UTC')::date          as month,
        handoffs.*
    from handoffs
    left join people using (person_id)
    left join named_campaigns on named_campaigns.campaign_id = handoffs.last_touch_campaign_id
),

reasons as (
    select source, campaign_id, month,
           string_agg(reason || ': ' || reason_count, ', ' order by reason_count desc, reason asc) as disqualified_reasons
    from (
        select source, campaign_id, month, coalesce(outcome_reason, '(no reason)') as reason, count(*) as reason_count
        from rows
        where outcome in ('disqualified', 'no_response')
        group by source, campaign_id, month, coalesce(outcome_reason, '(no reason)')
    ) as counted
    group by source, campaign_id, month
)

select
    rows.source,
    rows.campaign_id,
    max(rows.campaign_name)                                                           as campaign_name,
    rows.month,
    count(*)::integer                                                                 as handoffs,
    count(*) filter (where rows.accepted_at is not null or rows.outcome in ('accepted', 'converted'))::integer
                                                                                      as accepted,
    count(*) filter (where rows.outcome = 'converted')::integer                       as converted,
    count(*) filter (where rows.outcome in ('disqualified', 'no_response'))::integer  as disqualified,
    count(*) filter (where rows.outcome = 'no_response')::integer                     as no_response,
    count(*) filter (where rows.outcome = 'recycled')::integer                        as recycled,
    count(*) filter (where rows.outcome = 'open')::integer                            as still_open,
    count(*) filter (where rows.is_black_hole)::integer                               as black_holed,
    max(reasons.disqualified_reasons)                                                 as disqualified_reasons,
    round(count(*) filter (where rows.outcome = 'converted')::numeric / count(*), 4)::numeric(10, 4) as conversion_rate,
    round(avg(rows.response_business_minutes)::numeric, 1)::numeric(14, 1)            as avg_response_business_minutes
from rows
left join reasons using (source, campaign_id, month)
group by rows.source, rows.campaign_id, rows.month
