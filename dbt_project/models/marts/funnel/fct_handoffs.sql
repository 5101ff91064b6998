{#- Indexes for the readers' filters (docs/scale.md): one person, one owner, a period. -#}
{{ config(indexes=[{'columns': ['person_id']}, {'columns': ['owner_id', 'handed_off_at']}, {'columns': ['handed_off_at']}]) }}
{#-
    One row per handoff (a person entering mql; docs/warehouse.md): who had it, what sales did
    and how fast, how it ended. int_handoffs_assembled holds all of it that stands still
    (incremental); this adds what moves with as-of: business minutes from the handoff to as-of,
    the SLA breach of a handoff whose first sales touch has not come, and the black hole.
    Thresholds are dbt vars: sla_business_minutes, black_hole_business_days.
-#}
{%- set black_hole_minutes = var('black_hole_business_days') | int * business_day_minutes() | int -%}
{%- set sla_minutes = var('sla_business_minutes') | int -%}

with handoffs as (
    select
        *,
        {{ business_minutes_between('handed_off_at', as_of()) }} as business_minutes_to_as_of
    from {{ ref('int_handoffs_assembled') }}
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
    misroute_reason,
    is_misrouted,
    first_sales_touch_at,
    first_sales_touch_owner_id,
    first_sales_touch_channel,
    response_minutes,
    response_business_minutes,
    sla_due_at,
    coalesce(response_business_minutes, business_minutes_to_as_of) > {{ sla_minutes }} as is_sla_breached,
    business_minutes_to_as_of,
    (first_sales_touch_at is null and business_minutes_to_as_of > {{ black_hole_minutes }}) as is_black_hole,
    sales_touch_attempts,
    sales_touches_in_handoff,
    outcome,
    outcome_reason,
    outcome_at,
    is_no_response_reason,
    accepted_at,
    marketing_touches_before_handoff,
    last_touch_campaign_id,
    last_touch_channel,
    has_behavioural_context,
    has_firmographic_context,
    missing_context_field_count,
    missing_context_fields
from handoffs
