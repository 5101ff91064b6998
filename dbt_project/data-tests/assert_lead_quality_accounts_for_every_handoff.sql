-- rpt_lead_quality_by_source: every handoff is counted in exactly one row, and no row's
-- outcomes exceed its handoffs (converted, disqualified, recycled and open are disjoint).
with reported as (
    select coalesce(sum(handoffs), 0) as handoffs from {{ ref('rpt_lead_quality_by_source') }}
),

handed_off as (
    select count(*) as handoffs from {{ ref('fct_handoffs') }}
)

select
    'total' as what,
    reported.handoffs as reported,
    handed_off.handoffs as expected
from reported
cross join handed_off
where reported.handoffs <> handed_off.handoffs
union all
select
    source || ' / ' || campaign_id || ' / ' || month as what,
    converted + disqualified + recycled + still_open as reported,
    handoffs as expected
from {{ ref('rpt_lead_quality_by_source') }}
where
    converted + disqualified + recycled + still_open > handoffs
    or accepted > handoffs
    or black_holed > handoffs
