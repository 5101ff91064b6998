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
    opportunity_id::text                                               as opportunity_id,
    touchpoint_id::text                                                as touchpoint_id,
    model::text                                                        as model,
    -- trailing zeros trimmed so equal credits read the same (0.5, not 0.50000000000000000000)
    trim_scale(credit)::numeric                                        as credit,
    -- an opportunity without an amount brings no pipeline (0, not unknown)
    trim_scale(credit * coalesce(amount, 0))::numeric                  as pipeline_credit,
    trim_scale(case when is_won then credit * coalesce(amount, 0) else 0 end)::numeric as revenue_credit,
    positions::text                                                    as positions,
    touch_order::integer                                               as touch_order,
    person_id::text                                                    as person_id,
    touched_at::timestamptz                                            as touched_at,
    touch_type::text                                                   as touch_type,
    channel::text                                                      as channel,
    campaign_id::text                                                  as campaign_id,
    source_system::text                                                as source_system,
    attribution_window::text                                           as attribution_window,
    opportunity_created_at::timestamptz                                as opportunity_created_at,
    is_won::boolean                                                    as is_won,
    amount::numeric                                                    as opportunity_amount
from credited
