{#-
    One row per month × leak type × owner team: how many leaks, the rate per handoff, and the
    pipeline at risk. The month is that of the leak's handoff (of its detection when it has
    none); the rate divides by the handoffs of that month whose owner at handoff is on that
    team. Pipeline at risk is the amount of the open opportunities (at as-of) of the accounts
    the leaking people belong to, each account counted once per row.
-#}
with leaks as (
    select
        leaks.*,
        {{ utc_month("coalesce(leaks.handed_off_at, leaks.detected_at)") }} as month,
        coalesce(leaks.owner_team, 'unassigned')                                       as team
    from {{ ref('fct_funnel_leaks') }} as leaks
),

handoffs as (
    select
        {{ utc_month("handoffs.handed_off_at") }}           as month,
        coalesce(owners.team, 'unassigned')                                            as team,
        count(*)                                                                       as handoffs
    from {{ ref('fct_handoffs') }} as handoffs
    left join {{ ref('int_owners_with_roles') }} as owners using (owner_id)
    group by {{ utc_month("handoffs.handed_off_at") }}, coalesce(owners.team, 'unassigned')
),

open_pipeline as (
    select account_id, sum(amount) as open_amount
    from {{ ref('fct_opportunities') }}
    where not coalesce(is_closed, false) and not coalesce(is_deleted, false) and account_id is not null
      and created_at <= {{ as_of() }}
    group by account_id
),

leak_accounts as (
    select distinct month, leak_type, team, account_id
    from leaks
    where account_id is not null
),

pipeline as (
    select leak_accounts.month, leak_accounts.leak_type, leak_accounts.team,
           sum(open_pipeline.open_amount)                                              as pipeline_at_risk
    from leak_accounts
    join open_pipeline using (account_id)
    group by leak_accounts.month, leak_accounts.leak_type, leak_accounts.team
),

counted as (
    select
        month, leak_type, team,
        count(*)                                                                       as leaks,
        count(distinct person_id)                                                      as people,
        count(*) filter (where severity = 'high')                                      as high_severity_leaks
    from leaks
    group by month, leak_type, team
)

select
    counted.month,
    counted.leak_type,
    counted.team                                                                       as owner_team,
    cast(counted.leaks as {{ engine_type('integer') }})                                                             as leaks,
    cast(counted.people as {{ engine_type('integer') }})                                                            as people,
    cast(counted.high_severity_leaks as {{ engine_type('integer') }})                                               as high_severity_leaks,
    cast(coalesce(handoffs.handoffs, 0) as {{ engine_type('integer') }})                                            as handoffs,
    cast(round(cast(counted.leaks as {{ engine_type('numeric') }}) / nullif(handoffs.handoffs, 0), 4) as {{ engine_type('numeric(10, 4)') }})    as leaks_per_handoff,
    cast(coalesce(pipeline.pipeline_at_risk, 0) as {{ engine_type('numeric(18, 2)') }})                             as pipeline_at_risk
from counted
left join handoffs using (month, team)
left join pipeline using (month, leak_type, team)
