{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='sync_all_columns',
          pre_hook="{{ batch_join_settings() }}",
          indexes=[{'columns': ['person_id']}, {'columns': ['source_system', 'source_object', 'source_id']}]) }}
{#-
    One row per logged sales activity (int_sales_activities_logged) × person it names, at any
    time: consumers take those up to as-of. `is_sales_touch` marks the sales touches of
    docs/warehouse.md: made by a user whose role is sdr or ae. The others (a manager's call, an
    activity of an unknown user) still count as "a touch of any kind" for the stalled rule.
    An engagement naming several contacts touches each of their people once. Incremental by
    person: a build rebuilds the people of int_people_changed.
-#}
{%- set sales_touch_roles = var('sales_touch_roles') -%}

with people as (
    select record_key, person_id
    from {{ ref('int_people_matched_across_sources') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

on_people as (
    select source_system, source_object, source_id, record_key, touched_at, channel, source_owner_id, person_id
    from (
        select
            activities.*,
            people.person_id,
            row_number() over (
                partition by activities.source_system, activities.source_object, activities.source_id, people.person_id
                order by activities.record_key
            ) as distinct_on_rank
        from {{ ref('int_sales_activities_logged') }} as activities
        inner join people on activities.record_key = people.record_key
        where activities.is_logged_activity
          and activities.touched_at is not null
    ) as first_rows
    where distinct_on_rank = 1
)

select
    {{ surrogate_key(['on_people.source_system', 'on_people.source_object', 'on_people.source_id', 'on_people.person_id']) }}
                                                        as sales_activity_id,
    on_people.person_id,
    on_people.record_key,
    on_people.source_system,
    on_people.source_object,
    on_people.source_id,
    on_people.touched_at,
    on_people.channel,
    owners.owner_id,
    on_people.source_owner_id,
    owners.name                                         as owner_name,
    owners.role                                         as owner_role,
    coalesce(owners.role in (
        {%- for role in sales_touch_roles %}'{{ role }}'{{ ", " if not loop.last }}{% endfor -%}
    ), false)                                           as is_sales_touch
from on_people
left join {{ ref('int_owners_with_roles') }} as owners
  on owners.source_system = on_people.source_system
 and owners.source_owner_id = on_people.source_owner_id
