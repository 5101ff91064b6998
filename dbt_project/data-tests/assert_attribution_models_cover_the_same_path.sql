-- Every model built over the creation window credits the same touches of an opportunity:
-- a model missing an opportunity (or a touch) that another model has is a broken path.
with creation_window as (
    select opportunity_id, model, count(*) as touches
    from {{ ref('fct_attribution') }}
    where attribution_window = 'opportunity_creation'
    group by opportunity_id, model
),

models as (
    select distinct model from creation_window
),

expected as (
    select opportunities.opportunity_id, models.model, opportunities.touches
    from (select opportunity_id, max(touches) as touches from creation_window group by opportunity_id) as opportunities
    cross join models
)

select expected.opportunity_id, expected.model, expected.touches as expected_touches, creation_window.touches
from expected
left join creation_window using (opportunity_id, model)
where creation_window.touches is distinct from expected.touches
