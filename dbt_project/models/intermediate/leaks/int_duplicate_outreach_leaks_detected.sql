{#- Batch joins when rebuilding everything (hash joins, not nested loops guessed from CTE estimates); no
    JIT compile of the large plan. Incremental by person: a build rebuilds the people of int_people_changed. -#}
{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='sync_all_columns',
          pre_hook="{{ batch_join_settings() }}", indexes=[{'columns': ['person_id']}]) }}
{#-
    One row per person and handoff (of the later touch; null before the first handoff) with a
    sales touch made when a different sales user (another email) had touched the same person
    in the duplicate_outreach_days before it (docs/warehouse.md). Detected at the first such
    touch; the later toucher owns it; severity medium.
-#}
{%- set duplicate_days = var('duplicate_outreach_days') | int -%}

with sales_touches as (
    select sales_activity_id, handoff_id, person_id, touched_at, owner_id
    from {{ ref('int_sales_touches_assigned_to_handoffs') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

owners as (
    select owner_id, name, email from {{ ref('int_owners_with_roles') }}
),

people as (
    select person_id, person_label from {{ ref('int_people_labelled') }}
),

touches as (
    select
        sales_touches.person_id,
        sales_touches.handoff_id,
        sales_touches.sales_activity_id,
        sales_touches.touched_at,
        sales_touches.owner_id as toucher_id,
        coalesce(lower(owners.email), sales_touches.owner_id) as toucher_identity,
        owners.name as toucher_label
    from sales_touches
    left join owners on sales_touches.owner_id = owners.owner_id
),

duplicate_touches as (
    -- per person and handoff, the first touch that followed another sales user's within the window
    select person_id, handoff_id, toucher_id, touched_at, toucher_label, earlier_toucher_label, earlier_touched_at
    from (
        select
            later.person_id,
            later.handoff_id,
            later.toucher_id,
            later.touched_at,
            later.toucher_label,
            earlier.toucher_label as earlier_toucher_label,
            earlier.touched_at as earlier_touched_at,
            row_number() over (
                partition by later.person_id, later.handoff_id
                order by later.touched_at asc, later.sales_activity_id asc, earlier.touched_at desc
            ) as distinct_on_rank
        from touches as later
        inner join touches as earlier
        on
        later.person_id = earlier.person_id
        and earlier.touched_at < later.touched_at
        and earlier.touched_at >= {{ add_days('later.touched_at', -duplicate_days) }}
        and earlier.toucher_identity <> later.toucher_identity
    ) as first_rows
    where distinct_on_rank = 1
)

select
    'duplicate_outreach' as leak_type,
    duplicate_touches.person_id,
    duplicate_touches.handoff_id,
    duplicate_touches.toucher_id as owner_id,
    duplicate_touches.touched_at as detected_at,
    'medium' as severity,
    coalesce(people.person_label, duplicate_touches.person_id) || ' was touched by '
    || coalesce(duplicate_touches.toucher_label, 'an unknown rep') || ' on '
    || {{ readable_instant('duplicate_touches.touched_at') }} || ', '
    || round({{ seconds_between('duplicate_touches.earlier_touched_at', 'duplicate_touches.touched_at') }} / 86400.0, 1)
    || ' days after ' || coalesce(duplicate_touches.earlier_toucher_label, 'another rep')
    || ' (within {{ duplicate_days }} days).' as detail
from duplicate_touches
left join people on duplicate_touches.person_id = people.person_id
