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
        {{ utc_month("handoffs.handed_off_at") }}          as month,
        handoffs.*
    from handoffs
    left join people using (person_id)
    left join named_campaigns on named_campaigns.campaign_id = handoffs.last_touch_campaign_id
),

reasons as (
    select source, campaign_id, month,
           {{ ordered_text_agg("reason || ': ' || reason_count", ', ', ["reason_count desc", "reason asc"]) }} as disqualified_reasons
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
    cast(count(*) as {{ engine_type('integer') }})                                                                 as handoffs,
    cast(count(*) filter (where rows.accepted_at is not null or rows.outcome in ('accepted', 'converted')) as {{ engine_type('integer') }})
                                                                                      as accepted,
    cast(count(*) filter (where rows.outcome = 'converted') as {{ engine_type('integer') }})                       as converted,
    cast(count(*) filter (where rows.outcome in ('disqualified', 'no_response')) as {{ engine_type('integer') }})  as disqualified,
    cast(count(*) filter (where rows.outcome = 'no_response') as {{ engine_type('integer') }})                     as no_response,
    cast(count(*) filter (where rows.outcome = 'recycled') as {{ engine_type('integer') }})                        as recycled,
    cast(count(*) filter (where rows.outcome = 'open') as {{ engine_type('integer') }})                            as still_open,
    cast(count(*) filter (where rows.is_black_hole) as {{ engine_type('integer') }})                               as black_holed,
    max(reasons.disqualified_reasons)                                                 as disqualified_reasons,
    cast(round(cast(count(*) filter (where rows.outcome = 'converted') as {{ engine_type('numeric') }}) / count(*), 4) as {{ engine_type('numeric(10, 4)') }}) as conversion_rate,
    cast(round(cast(avg(rows.response_business_minutes) as {{ engine_type('numeric') }}), 1) as {{ engine_type('numeric(14, 1)') }})            as avg_response_business_minutes
from rows
left join reasons using (source, campaign_id, month)
group by rows.source, rows.campaign_id, rows.month
