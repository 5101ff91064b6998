{#- Batch joins when rebuilding everything (hash joins, not nested loops guessed from CTE estimates); no
    JIT compile of the large plan. Incremental by person: a build rebuilds the people of int_people_changed. -#}
{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='sync_all_columns',
          pre_hook="{{ batch_join_settings() }}",
          indexes=[{'columns': ['person_id']}, {'columns': ['handoff_id'], 'unique': true}]) }}
{#-
    One row per handoff: how it ended (docs/warehouse.md). The first stage after the handoff and
    before the next one: sql/opportunity/customer -> converted; disqualified -> no_response when
    the reason is one of the no_response_reasons var, else disqualified; recycled -> recycled;
    otherwise accepted once sal was reached (outcome_at = acceptance), else open.
    The reason is the CRM record's reason field as recorded when the handoff closed: a
    Salesforce lead's field history in the window when it has one (a later handoff may
    overwrite the field), else the record's current value (int_handoff_crm_records_joined).
-#}
{%- set no_response_reasons = var('no_response_reasons') -%}
{%- set disqualified_reason_field = var('salesforce_disqualified_reason_field') -%}
{%- set recycled_reason_field = var('salesforce_recycled_reason_field') -%}

with handoffs as (
    select handoff_id, person_id, handed_off_at, next_handoff_at, crm_source_object, crm_source_id
    from {{ ref('int_handoffs_identified') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

crm_records as (
    select handoff_id, disqualified_reason, recycled_reason
    from {{ ref('int_handoff_crm_records_joined') }}
),

stage_spells as (
    select person_id, stage, entered_at
    from {{ ref('fct_lifecycle_stage_history') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

lead_reason_history as (
    select lead_id, field, new_value, created_at, lead_history_id
    from {{ ref('stg_salesforce__lead_history') }}
    where field in ('{{ disqualified_reason_field }}', '{{ recycled_reason_field }}') and not is_deleted
      and lead_id in (select crm_source_id from handoffs where crm_source_object = 'Lead')
),

terminal_spells as (
    -- the first stage after the handoff (and before the next one) that ends it
    select handoff_id, stage, entered_at
    from (
        select
            handoffs.handoff_id,
            spells.stage,
            spells.entered_at,
            row_number() over (
                partition by handoffs.handoff_id
                order by spells.entered_at
            ) as distinct_on_rank
        from handoffs
        inner join stage_spells as spells
        on
        handoffs.person_id = spells.person_id
        and spells.entered_at > handoffs.handed_off_at
        and (handoffs.next_handoff_at is null or spells.entered_at < handoffs.next_handoff_at)
        where spells.stage in ('sql', 'opportunity', 'customer', 'disqualified', 'recycled')
    ) as first_rows
    where distinct_on_rank = 1
),

accepted_spells as (
    select
        handoffs.handoff_id,
        min(spells.entered_at) as accepted_at
    from handoffs
    inner join stage_spells as spells
        on
            handoffs.person_id = spells.person_id
            and spells.entered_at > handoffs.handed_off_at
            and (handoffs.next_handoff_at is null or spells.entered_at < handoffs.next_handoff_at)
    where spells.stage = 'sal'
    group by handoffs.handoff_id
),

outcomes as (
    select
        handoffs.handoff_id,
        terminal_spells.stage as terminal_stage,
        terminal_spells.entered_at as terminal_at,
        accepted_spells.accepted_at,
        case
            when terminal_spells.stage = 'disqualified' then '{{ disqualified_reason_field }}'
            when terminal_spells.stage = 'recycled' then '{{ recycled_reason_field }}'
        end as salesforce_reason_field
    from handoffs
    left join terminal_spells on handoffs.handoff_id = terminal_spells.handoff_id
    left join accepted_spells on handoffs.handoff_id = accepted_spells.handoff_id
),

reason_changes_in_window as (
    -- the reason field's last recorded value inside the handoff's window (Salesforce leads)
    select handoff_id, recorded_reason
    from (
        select
            outcomes.handoff_id,
            nullif(trim(history.new_value), '') as recorded_reason,
            row_number() over (
                partition by outcomes.handoff_id
                order by history.created_at desc, history.lead_history_id desc
            ) as distinct_on_rank
        from outcomes
        inner join handoffs on outcomes.handoff_id = handoffs.handoff_id
        inner join lead_reason_history as history
        on
        handoffs.crm_source_id = history.lead_id
        and outcomes.salesforce_reason_field = history.field
        and history.created_at >= handoffs.handed_off_at
        and history.created_at <= coalesce(handoffs.next_handoff_at, {{ as_of() }})
        where handoffs.crm_source_object = 'Lead'
    ) as first_rows
    where distinct_on_rank = 1
),

leads_with_reason_history as (
    select distinct lead_id, field from lead_reason_history
),

reasons as (
    select
        outcomes.handoff_id,
        case
            when outcomes.terminal_stage is null or outcomes.terminal_stage not in ('disqualified', 'recycled')
                then null
            when tracked.lead_id is not null then reason_changes_in_window.recorded_reason
            when outcomes.terminal_stage = 'disqualified' then crm_records.disqualified_reason
            else crm_records.recycled_reason
        end as outcome_reason
    from outcomes
    inner join handoffs on outcomes.handoff_id = handoffs.handoff_id
    left join crm_records on outcomes.handoff_id = crm_records.handoff_id
    left join reason_changes_in_window on outcomes.handoff_id = reason_changes_in_window.handoff_id
    left join leads_with_reason_history as tracked
        on
            handoffs.crm_source_object = 'Lead'
            and handoffs.crm_source_id = tracked.lead_id
            and outcomes.salesforce_reason_field = tracked.field
)

select
    outcomes.handoff_id,
    handoffs.person_id,
    case
        when outcomes.terminal_stage in ('sql', 'opportunity', 'customer') then 'converted'
        when outcomes.terminal_stage = 'disqualified' and reasons.outcome_reason in (
            {%- for reason in no_response_reasons %}'{{ reason }}'{{ ", " if not loop.last }}{% endfor -%}
        ) then 'no_response'
        when outcomes.terminal_stage = 'disqualified' then 'disqualified'
        when outcomes.terminal_stage = 'recycled' then 'recycled'
        when outcomes.accepted_at is not null then 'accepted'
        else 'open'
    end as outcome,
    reasons.outcome_reason,
    coalesce(outcomes.terminal_at, outcomes.accepted_at) as outcome_at,
    outcomes.terminal_stage,
    outcomes.terminal_at,
    outcomes.accepted_at,
    coalesce(reasons.outcome_reason in (
        {%- for reason in no_response_reasons %}'{{ reason }}'{{ ", " if not loop.last }}{% endfor -%}
    ), false) as is_no_response_reason
from outcomes
inner join reasons on outcomes.handoff_id = reasons.handoff_id
inner join handoffs on outcomes.handoff_id = handoffs.handoff_id
