{#-
    One row per touch month × channel × model: the pipeline and revenue that model credits to
    the channel's touches of that month (the month the touch happened, in UTC).
-#}

with attribution as (
    select * from {{ ref('fct_attribution') }}
)

select
    {{ utc_month("touched_at") }}           as touch_month,
    cast(coalesce(channel, 'unknown') as {{ engine_type('text') }})                                  as channel,
    cast(model as {{ engine_type('text') }})                                                         as model,
    cast(count(distinct opportunity_id) as {{ engine_type('bigint') }})                              as opportunities_touched,
    cast(count(*) as {{ engine_type('bigint') }})                                                    as touchpoints,
    cast({{ trim_scale("sum(credit)") }} as {{ engine_type('numeric') }})                                    as opportunities_credited,
    cast({{ trim_scale("sum(pipeline_credit)") }} as {{ engine_type('numeric') }})                           as pipeline_credited,
    cast({{ trim_scale("sum(revenue_credit)") }} as {{ engine_type('numeric') }})                            as revenue_credited
from attribution
group by 1, 2, 3
