-- Per opportunity and model, revenue credit adds up to the amount of a won opportunity and
-- to 0 otherwise; pipeline credit adds up to the amount whatever the outcome. Amounts are
-- read from fct_opportunities, not from fct_attribution's own copy.
with credited as (
    select opportunity_id, model, sum(revenue_credit) as revenue_credited, sum(pipeline_credit) as pipeline_credited
    from {{ ref('fct_attribution') }}
    group by opportunity_id, model
)

select
    credited.opportunity_id,
    credited.model,
    opportunities.is_won,
    opportunities.amount,
    credited.revenue_credited,
    credited.pipeline_credited
from credited
left join {{ ref('fct_opportunities') }} as opportunities on opportunities.opportunity_id = credited.opportunity_id
where opportunities.opportunity_id is null
   or abs(credited.revenue_credited - case when opportunities.is_won then coalesce(opportunities.amount, 0) else 0 end) > 1e-6
   or abs(credited.pipeline_credited - coalesce(opportunities.amount, 0)) > 1e-6
