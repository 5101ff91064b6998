-- The channel report loses and invents nothing: per model, its months and channels add up to
-- fct_attribution's credit, pipeline and revenue.
with report as (
    select model, sum(opportunities_credited) as credit, sum(pipeline_credited) as pipeline, sum(revenue_credited) as revenue
    from {{ ref('rpt_attribution_by_channel') }}
    group by model
),

attribution as (
    select model, sum(credit) as credit, sum(pipeline_credit) as pipeline, sum(revenue_credit) as revenue
    from {{ ref('fct_attribution') }}
    group by model
)

select
    coalesce(report.model, attribution.model) as model,
    report.credit as reported_credit,
    attribution.credit as attributed_credit,
    report.pipeline as reported_pipeline,
    attribution.pipeline as attributed_pipeline,
    report.revenue as reported_revenue,
    attribution.revenue as attributed_revenue
from report
full outer join attribution on attribution.model = report.model
where report.model is null or attribution.model is null
   or abs(report.credit - attribution.credit) > 1e-6
   or abs(report.pipeline - attribution.pipeline) > 1e-4
   or abs(report.revenue - attribution.revenue) > 1e-4
