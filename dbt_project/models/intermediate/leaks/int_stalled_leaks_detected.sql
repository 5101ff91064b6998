{#- Batch joins: hash joins, not nested loops guessed from CTE estimates; no JIT compile of the large plan. -#}
{{ config(pre_hook="{{ batch_join_settings(always=true) }}") }}
{#-
    One row per person whose current stage is sal or sql and who, in the stalled_days before
    as-of, had no touch of any kind (sales or marketing) and no stage change (docs/warehouse.md).
    Detected stalled_days after the last sign of life; owned by the current owner of the
    person's latest handoff's CRM record; high in sql, else medium.
-#}
{%- set stalled_days = var('stalled_days') | int -%}

with stage_history as (
    select person_id, stage, entered_at, is_current
    from {{ ref('fct_lifecycle_stage_history') }}
),

sales_activities as (
    select person_id, touched_at
    from {{ ref('int_sales_activities_unioned') }}
    where is_sales_touch
),

touchpoints as (
    select person_id, touched_at from {{ ref('fct_touchpoints') }}
),

handoffs as (
    select handoff_id, person_id, handed_off_at
    from {{ ref('int_handoffs_identified') }}
),

crm_records as (
    select handoff_id, source_system, source_owner_id
    from {{ ref('int_handoff_crm_records_joined') }}
),

owners as (
    select owner_id, name from {{ ref('int_owners_with_roles') }}
),

people as (
    select person_id, person_label from {{ ref('int_people_labelled') }}
),

current_stages as (
    select person_id, stage, entered_at
    from stage_history
    where is_current and stage in ('sal', 'sql')
),

last_touches as (
    select
        person_id,
        max(touched_at) as last_touched_at
    from (
        select person_id, touched_at from sales_activities
        union all
        select person_id, touched_at from touchpoints
    ) as touches
    where touched_at <= {{ as_of() }}
      and person_id in (select person_id from current_stages)
    group by person_id
),

latest_handoffs as (
    -- the person's latest handoff and its CRM record's owner today
    select person_id, handoff_id, owner_id
    from (
        select
            handoffs.person_id,
            handoffs.handoff_id,
            case
            when crm_records.source_owner_id is not null
                then {{ owner_key('crm_records.source_system', 'crm_records.source_owner_id') }}
        end as owner_id,
            row_number() over (
                partition by handoffs.person_id
                order by handoffs.handed_off_at desc
            ) as distinct_on_rank
        from handoffs
        left join crm_records on handoffs.handoff_id = crm_records.handoff_id
    ) as first_rows
    where distinct_on_rank = 1
)

select
    'stalled' as leak_type,
    current_stages.person_id,
    latest_handoffs.handoff_id,
    latest_handoffs.owner_id,
    {{ add_days('greatest(current_stages.entered_at, last_touches.last_touched_at)', stalled_days) }}
        as detected_at,
    case when current_stages.stage = 'sql' then 'high' else 'medium' end as severity,
    coalesce(people.person_label, current_stages.person_id) || ' has sat in ' || current_stages.stage
    || ' since ' || {{ readable_instant('current_stages.entered_at') }} || ' with '
    || case
        when last_touches.last_touched_at is null then 'no touch at all'
        else 'no touch since ' || {{ readable_instant('last_touches.last_touched_at') }}
    end
    || ' (owner ' || coalesce(owner.name, 'nobody') || '; more than {{ stalled_days }} days as of '
    || {{ readable_instant(as_of()) }} || ').' as detail
from current_stages
left join last_touches on current_stages.person_id = last_touches.person_id
left join latest_handoffs on current_stages.person_id = latest_handoffs.person_id
left join people on current_stages.person_id = people.person_id
left join owners as owner on latest_handoffs.owner_id = owner.owner_id
where
    current_stages.entered_at <= {{ add_days(as_of(), -stalled_days) }}
    and (
        last_touches.last_touched_at is null
        or last_touches.last_touched_at <= {{ add_days(as_of(), -stalled_days) }}
    )
