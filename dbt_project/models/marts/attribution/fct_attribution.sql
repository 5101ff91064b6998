{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='opportunity_id',
          rebuilt_keys_from='int_opportunities_changed', on_schema_change='append_new_columns',
          indexes=[{'columns': ['opportunity_id']}]) }}
{#-
    One row per opportunity × touchpoint × model: the touch's share of the opportunity's credit
    under that model, renormalized so each opportunity's credits sum to 1 per model. Incremental
    by opportunity: a build rebuilds the opportunities of int_opportunities_changed.
-#}

with weights as (
    select * from {{ ref('int_attribution_weights') }}
    where true {{ in_change_set('opportunity_id', 'int_opportunities_changed', 'opportunity_id') }}
),

credited as (
    select
        *,
        weight / nullif(sum(weight) over (partition by opportunity_id, model), 0) as credit
    from weights
)

select
    cast(opportunity_id as {{ engine_type('text') }})                                               as opportunity_id,
    cast(touchpoint_id as {{ engine_type('text') }})                                                as touchpoint_id,
    cast(model as {{ engine_type('text') }})                                                        as model,
    -- trailing zeros trimmed so equal credits read the same (0.5, not 0.50000000000000000000)
    cast({{ trim_scale("credit") }} as {{ engine_type('numeric') }})                                        as credit,
    -- an opportunity without an amount brings no pipeline (0, not unknown)
    cast({{ trim_scale("credit * coalesce(amount, 0)") }} as {{ engine_type('numeric') }})                  as pipeline_credit,
    cast({{ trim_scale("case when is_won then credit * coalesce(amount, 0) else 0 end") }} as {{ engine_type('numeric') }}) as revenue_credit,
    cast(positions as {{ engine_type('text') }})                                                    as positions,
    cast(touch_order as {{ engine_type('integer') }})                                               as touch_order,
    cast(person_id as {{ engine_type('text') }})                                                    as person_id,
    cast(touched_at as {{ engine_type('timestamptz') }})                                            as touched_at,
    cast(touch_type as {{ engine_type('text') }})                                                   as touch_type,
    cast(channel as {{ engine_type('text') }})                                                      as channel,
    cast(campaign_id as {{ engine_type('text') }})                                                  as campaign_id,
    cast(source_system as {{ engine_type('text') }})                                                as source_system,
    cast(attribution_window as {{ engine_type('text') }})                                           as attribution_window,
    cast(opportunity_created_at as {{ engine_type('timestamptz') }})                                as opportunity_created_at,
    cast(is_won as {{ engine_type('boolean') }})                                                    as is_won,
    cast(amount as {{ engine_type('numeric') }})                                                    as opportunity_amount
from credited
