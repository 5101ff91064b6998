-- Every opportunity with touchpoints has, per model, credits between 0 and 1 summing to 1
-- (docs/warehouse.md). Returns the opportunity × model pairs that break it.
select
    opportunity_id,
    model,
    sum(credit)  as credit_total,
    min(credit)  as smallest_credit,
    max(credit)  as largest_credit
from {{ ref('fct_attribution') }}
group by opportunity_id, model
having abs(sum(credit) - 1) > 1e-9
    or min(credit) < 0
    or max(credit) > 1
    or count(credit) < count(*)
