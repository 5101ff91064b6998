{#-
    One row per touch month × channel × model: the pipeline and revenue that model credits to
    the channel's touches of that month (the month the touch happened, in UTC).
-#}

with attribution as (
    select * from {{ ref('fct_attribution') }}
)

select
    date_trunc('month', touched_at at time zone 'UTC')::date           as touch_month,
    coalesce(channel, 'unknown')::text                                  as channel,
    model::text                                                         as model,
    count(distinct opportunity_id)::bigint                              as opportunities_touched,
    count(*)::bigint                                                    as touchpoints,
    trim_scale(sum(credit))::numeric                                    as opportunities_credited,
    trim_scale(sum(pipeline_credit))::numeric                           as pipeline_credited,
    trim_scale(sum(revenue_credit))::numeric                            as revenue_credited
from attribution
group by 1, 2, 3
