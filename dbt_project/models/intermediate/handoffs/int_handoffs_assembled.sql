{#- Batch joins when rebuilding everything (hash joins, not nested loops guessed from CTE estimates); no
    JIT compile of the large plan. Incremental by person: a build rebuilds the people of int_people_changed. -#}
{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='sync_all_columns',
          pre_hook="{{ batch_join_settings() }}",
          indexes=[{'columns': ['person_id']}, {'columns': ['handoff_id'], 'unique': true}]) }}
{#-
    One row per handoff (a person entering mql; docs/warehouse.md): who had it, what sales did
    and how fast, how it ended; everything fct_handoffs says but what depends on as-of (the
    business minutes to as-of, the SLA breach of a handoff still waiting for its first touch, the
    black hole), which fct_handoffs adds. The rules live in the intermediate models it reads: the
    handoff and its CRM record (int_handoffs_identified, int_handoff_crm_records_joined), its
    owners (int_handoff_owners_resolved), its outcome (int_handoff_outcomes_resolved), its sales
    touches (int_sales_touches_assigned_to_handoffs) and its context (int_handoff_context_checks).
    Thresholds are dbt vars: sla_business_minutes, black_hole_business_days.
-#}
{%- set black_hole_minutes = var('black_hole_business_days') | int * business_day_minutes() | int -%}
{%- set sla_minutes = var('sla_business_minutes') | int -%}

with handoffs as (
    select * from {{ ref('int_handoff_owners_resolved') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

resolved_outcomes as (
    select * from {{ ref('int_handoff_outcomes_resolved') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

handoff_touches as (
    select * from {{ ref('int_sales_touches_assigned_to_handoffs') }}
    where handoff_id is not null {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

context_checks as (
    select handoff_id, field_name, field_group, field_value, is_missing
    from {{ ref('int_handoff_context_checks') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

owners as (
    select * from {{ ref('int_owners_with_roles') }}
),

people as (
    select person_id, account_id, original_channel from {{ ref('dim_people') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

touchpoints as (
    select person_id, touchpoint_id, touched_at, campaign_id, channel from {{ ref('fct_touchpoints') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

routing_rules as (
    select priority, segment_field, segment_value, owner_source_system, owner_source_id
    from {{ ref('handoff_routing_rules') }}
),

first_touches as (
    select handoff_id, first_sales_touch_at, first_sales_touch_owner_id, first_sales_touch_channel
    from (
        select
            handoff_id,
            touched_at as first_sales_touch_at,
            owner_id as first_sales_touch_owner_id,
            channel as first_sales_touch_channel,
            row_number() over (
                partition by handoff_id
                order by touched_at, owner_id, sales_activity_id
            ) as distinct_on_rank
        from handoff_touches
    ) as first_rows
    where distinct_on_rank = 1
),

attempts as (
    select
        handoff_touches.handoff_id,
        count(*) filter (
            where resolved_outcomes.terminal_at is null or handoff_touches.touched_at <= resolved_outcomes.terminal_at
        ) as sales_touch_attempts,
        count(*) as sales_touches_in_handoff,
        count(distinct handoff_touches.owner_id) as sales_touch_owner_count
    from handoff_touches
    inner join resolved_outcomes on handoff_touches.handoff_id = resolved_outcomes.handoff_id
    group by handoff_touches.handoff_id
),

marketing_touches as (
    select
        handoffs.handoff_id,
        count(touchpoints.touchpoint_id) as marketing_touches_before_handoff,
        {{ first_by("touchpoints.campaign_id", ["touchpoints.touched_at desc", "touchpoints.touchpoint_id asc"], "touchpoints.campaign_id is not null") }} as last_touch_campaign_id,
        {{ first_by("touchpoints.channel", ["touchpoints.touched_at desc", "touchpoints.touchpoint_id asc"]) }}
            as last_touch_channel
    from handoffs
    left join touchpoints
        on
            handoffs.person_id = touchpoints.person_id
            and touchpoints.touched_at < handoffs.handed_off_at
    group by handoffs.handoff_id
),

context as (
    select
        handoff_id,
        bool_and(not is_missing) filter (where field_group = 'behavioural') as has_behavioural_context,
        bool_and(not is_missing) filter (where field_group = 'firmographic') as has_firmographic_context,
        count(*) filter (where is_missing) as missing_context_field_count,
        {{ ordered_text_agg("field_name", ', ', ["field_name"], "is_missing") }} as missing_context_fields,
        max(field_value) filter (where field_name = 'country') as record_country,
        max(field_value) filter (where field_name = 'industry') as record_industry,
        max(field_value) filter (where field_name = 'lead_source') as record_lead_source
    from context_checks
    group by handoff_id
),

routed as (
    -- no account owner: the routing seed may name the expected owner for the person's segment
    select handoff_id, routed_owner_id
    from (
        select
            handoffs.handoff_id,
            {{ owner_key('rules.owner_source_system', 'rules.owner_source_id') }} as routed_owner_id,
            row_number() over (
                partition by handoffs.handoff_id
                order by rules.priority
            ) as distinct_on_rank
        from handoffs
        left join context on handoffs.handoff_id = context.handoff_id
        left join people on handoffs.person_id = people.person_id
        inner join routing_rules as rules
        on lower(rules.segment_value) = lower(case rules.segment_field
        when 'country' then context.record_country
        when 'industry' then context.record_industry
        when 'lead_source' then context.record_lead_source
        when 'original_channel' then people.original_channel
        end)
        where handoffs.account_owner_id is null
    ) as first_rows
    where distinct_on_rank = 1
),

assembled as (
    select
        handoffs.*,
        coalesce(people.account_id, handoffs.account_at_handoff_id)              as account_id,
        coalesce(handoffs.account_owner_id, routed.routed_owner_id)              as expected_owner_id,
        case
            when handoffs.account_owner_id is not null then 'account_owner'
            when routed.routed_owner_id is not null then 'routing_rule'
        end                                                                      as expected_owner_source,
        owner.role                                                               as owner_role,
        owner.owner_type,
        owner.is_active                                                          as is_owner_active,
        owner.email                                                              as owner_email,
        expected.email                                                           as expected_owner_email,
        first_touches.first_sales_touch_at,
        first_touches.first_sales_touch_owner_id,
        first_touches.first_sales_touch_channel,
        coalesce(attempts.sales_touch_attempts, 0)                               as sales_touch_attempts,
        coalesce(attempts.sales_touches_in_handoff, 0)                           as sales_touches_in_handoff,
        resolved_outcomes.outcome,
        resolved_outcomes.outcome_reason,
        resolved_outcomes.outcome_at,
        resolved_outcomes.is_no_response_reason,
        resolved_outcomes.accepted_at,
        coalesce(marketing_touches.marketing_touches_before_handoff, 0)          as marketing_touches_before_handoff,
        marketing_touches.last_touch_campaign_id,
        marketing_touches.last_touch_channel,
        context.has_behavioural_context,
        context.has_firmographic_context,
        coalesce(context.missing_context_field_count, 0)                         as missing_context_field_count,
        context.missing_context_fields
    from handoffs
    left join people using (person_id)
    left join routed using (handoff_id)
    left join owners as owner on owner.owner_id = handoffs.owner_id
    left join owners as expected on expected.owner_id = coalesce(handoffs.account_owner_id, routed.routed_owner_id)
    left join first_touches using (handoff_id)
    left join attempts using (handoff_id)
    left join resolved_outcomes using (handoff_id)
    left join marketing_touches using (handoff_id)
    left join context using (handoff_id)
),

-- the handoff's instant on the business clock, looked up once for both due times below
timed as (
    select
        assembled.*,
        {{ business_seconds_at('assembled.handed_off_at') }} as handed_off_business_seconds
    from assembled
)

select
    handoff_id,
    person_id,
    account_id,
    handoff_number,
    handed_off_at,
    next_handoff_at,
    crm_source_system,
    crm_source_object,
    crm_source_id,
    crm_reached_at,
    owner_id,
    source_owner_id_at_handoff,
    owner_role,
    expected_owner_id,
    expected_owner_source,
    case
        when owner_id is null then 'no_owner'
        when owner_type = 'Group' or owner_role = 'queue' then 'queue'
        when not coalesce(is_owner_active, false) then 'inactive_owner'
        when expected_owner_id is not null and owner_id <> expected_owner_id
             and lower(coalesce(owner_email, '')) <> lower(coalesce(expected_owner_email, '-'))
            then 'not_account_owner'
    end                                                                          as misroute_reason,
    (owner_id is null
     or owner_type = 'Group' or owner_role = 'queue'
     or not coalesce(is_owner_active, false)
     or (expected_owner_id is not null and owner_id <> expected_owner_id
         and lower(coalesce(owner_email, '')) <> lower(coalesce(expected_owner_email, '-'))))
                                                                                 as is_misrouted,
    first_sales_touch_at,
    first_sales_touch_owner_id,
    first_sales_touch_channel,
    cast((floor({{ seconds_between('handed_off_at', 'first_sales_touch_at') }} / 60)) as {{ engine_type('integer') }}) as response_minutes,
    {{ business_minutes_between('handed_off_at', 'first_sales_touch_at') }}     as response_business_minutes,
    {{ business_minutes_add('handed_off_at', sla_minutes, 'handed_off_business_seconds') }} as sla_due_at,
    -- when a handoff with no sales touch becomes a black hole (int_black_hole_leaks_detected)
    case when first_sales_touch_at is null
         then {{ business_minutes_add('handed_off_at', black_hole_minutes, 'handed_off_business_seconds') }} end as black_hole_due_at,
    cast(sales_touch_attempts as {{ engine_type('integer') }})                                                as sales_touch_attempts,
    cast(sales_touches_in_handoff as {{ engine_type('integer') }})                                            as sales_touches_in_handoff,
    outcome,
    outcome_reason,
    outcome_at,
    is_no_response_reason,
    accepted_at,
    cast(marketing_touches_before_handoff as {{ engine_type('integer') }})                                    as marketing_touches_before_handoff,
    last_touch_campaign_id,
    last_touch_channel,
    coalesce(has_behavioural_context, false)                                     as has_behavioural_context,
    coalesce(has_firmographic_context, false)                                    as has_firmographic_context,
    cast(missing_context_field_count as {{ engine_type('integer') }})                                         as missing_context_field_count,
    missing_context_fields
from timed
