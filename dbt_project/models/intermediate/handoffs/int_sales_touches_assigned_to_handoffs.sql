{#- Batch joins when rebuilding everything (hash joins, not nested loops guessed from CTE estimates); no
    JIT compile of the large plan. Incremental by person: a build rebuilds the people of int_people_changed. -#}
{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='sync_all_columns',
          pre_hook="{{ batch_join_settings() }}",
          indexes=[{'columns': ['person_id']}, {'columns': ['handoff_id']}]) }}
{#-
    One row per sales touch (int_sales_activities_unioned where is_sales_touch) with the handoff
    it belongs to: the person's latest handoff at or before it, i.e. the one whose window
    [handed_off_at, next_handoff_at) holds it (docs/warehouse.md). handoff_id is null for a touch
    before the person's first handoff.
-#}

with sales_touches as (
    select
        sales_activity_id, person_id, record_key, source_system, source_object, source_id,
        touched_at, channel, owner_id, source_owner_id, owner_name, owner_role
    from {{ ref('int_sales_activities_unioned') }}
    where is_sales_touch and touched_at <= {{ as_of() }} {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

handoffs as (
    select handoff_id, person_id, handed_off_at, next_handoff_at
    from {{ ref('int_handoffs_identified') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
)

select
    sales_touches.sales_activity_id,
    handoffs.handoff_id,
    sales_touches.person_id,
    sales_touches.record_key,
    sales_touches.source_system,
    sales_touches.source_object,
    sales_touches.source_id,
    sales_touches.touched_at,
    sales_touches.channel,
    sales_touches.owner_id,
    sales_touches.source_owner_id,
    sales_touches.owner_name,
    sales_touches.owner_role
from sales_touches
left join handoffs
    on
        sales_touches.person_id = handoffs.person_id
        and sales_touches.touched_at >= handoffs.handed_off_at
        and (handoffs.next_handoff_at is null or sales_touches.touched_at < handoffs.next_handoff_at)
