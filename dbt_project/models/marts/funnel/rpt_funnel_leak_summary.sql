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
        date_trunc('month', coalesce(leaks.handed_off_at, leaks.detected_at) at time zone 'UTC')::date as month,
        coalesce(leaks.owner_team, 'unassigned')                                       as team
    from {{ ref('fct_funnel_leaks') }} as leaks
),

handoffs as (
    select
        date_trunc('month', handoffs.handed_off_at at time zone 'UTC')::date           as month,
        coalesce(owners.team, 'unassigned')                                            as team,
        count(*)                                                                       as handoffs
    from {{ ref('fct_handoffs') }} as handoffs
    left join {{ ref('int_owners_with_roles') }} as owners using (owner_id)
    group by date_trunc('month', handoffs.handed_off_at at time zone 'UTC')::date, coalesce(owners.team, 'unassigned')
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
    counted.leaks::integer                                                             as leaks,
    counted.people::integer                                                            as people,
    counted.high_severity_leaks::integer                                               as high_severity_leaks,
    coalesce(handoffs.handoffs, 0)::integer                                            as handoffs,
    round(counted.leaks::numeric / nullif(handoffs.handoffs, 0), 4)::numeric(10, 4)    as leaks_per_handoff,
    coalesce(pipeline.pipeline_at_risk, 0)::numeric(18, 2)                             as pipeline_at_risk
from counted
left join handoffs using (month, team)
left join pipeline using (month, leak_type, team)
