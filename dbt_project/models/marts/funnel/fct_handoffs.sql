{#- Batch joins: hash joins, not nested loops guessed from CTE estimates; no JIT compile of the large plan. -#}
{{ config(pre_hook=["set local jit = off", "set local enable_nestloop = off"]) }}
{#-
    One row per handoff (a person entering mql; CONTRACT.md §4–5): who had it, what sales did
    and how fast, how it ended. Thresholds are dbt vars: sla_business_minutes,
    black_hole_business_days, no_response_reasons, the reason fields of the staging models.
-#}
{%- set no_response_reasons = var('no_response_reasons', ['No Response', 'Unresponsive']) -%}
{%- set black_hole_minutes = var('black_hole_business_days', 5) | int * business_day_minutes() | int -%}
{%- set sla_minutes = var('sla_business_minutes', 480) | int -%}
{%- set disqualified_reason_field = var('salesforce_disqualified_reason_field', 'Disqualified_Reason__c') -%}
{%- set recycled_reason_field = var('salesforce_recycled_reason_field', 'Recycled_Reason__c') -%}

with handoffs as (
    select * from {{ ref('int_handoffs_identified') }}
),

owners as (
    select * from {{ ref('int_owners_with_roles') }}
),

stage_spells as (
    select person_id, stage, entered_at
    from {{ ref('fct_lifecycle_stage_history') }}
),

terminal_spells as (
    -- the first stage after the handoff (and before the next one) that ends it
    select distinct on (handoffs.handoff_id)
        handoffs.handoff_id,
        spells.stage,
        spells.entered_at
    from handoffs
    join stage_spells as spells
      on spells.person_id = handoffs.person_id
     and spells.entered_at > handoffs.handed_off_at
     and (handoffs.next_handoff_at is null or spells.entered_at < handoffs.next_handoff_at)
    where spells.stage in ('sql', 'opportunity', 'customer', 'disqualified', 'recycled')
    order by handoffs.handoff_id, spells.entered_at
),

accepted_spells as (
    select handoffs.handoff_id, min(spells.entered_at) as accepted_at
    from handoffs
    join stage_spells as spells
      on spells.person_id = handoffs.person_id
     and spells.entered_at > handoffs.handed_off_at
     and (handoffs.next_handoff_at is null or spells.entered_at < handoffs.next_handoff_at)
    where spells.stage = 'sal'
    group by handoffs.handoff_id
),

lead_reason_history as (
    select lead_id, field, new_value, created_at, lead_history_id
    from {{ ref('stg_salesforce__lead_history') }}
    where field in ('{{ disqualified_reason_field }}', '{{ recycled_reason_field }}') and not is_deleted
),

outcomes as (
    select
        handoffs.handoff_id,
        terminal_spells.stage                                                    as terminal_stage,
        terminal_spells.entered_at                                               as terminal_at,
        accepted_spells.accepted_at,
        case
            when terminal_spells.stage = 'disqualified' then '{{ disqualified_reason_field }}'
            when terminal_spells.stage = 'recycled' then '{{ recycled_reason_field }}'
        end                                                                      as salesforce_reason_field
    from handoffs
    left join terminal_spells using (handoff_id)
    left join accepted_spells using (handoff_id)
),

reason_changes_in_window as (
    -- the reason field's last recorded value inside the handoff's window (Salesforce leads)
    select distinct on (outcomes.handoff_id)
        outcomes.handoff_id,
        nullif(trim(history.new_value), '')                                      as recorded_reason
    from outcomes
    join handoffs using (handoff_id)
    join lead_reason_history as history
      on history.lead_id = handoffs.crm_source_id
     and history.field = outcomes.salesforce_reason_field
     and history.created_at >= handoffs.handed_off_at
     and history.created_at <= coalesce(handoffs.next_handoff_at, {{ as_of() }})
    where handoffs.crm_source_object = 'Lead'
    order by outcomes.handoff_id, history.created_at desc, history.lead_history_id desc
),

leads_with_reason_history as (
    select distinct lead_id, field from lead_reason_history
),

reasons as (
    -- The reason as recorded when the handoff closed: a Salesforce lead's field history when
    -- it has one (a later handoff may overwrite the field), else the record's current value.
    select
        outcomes.handoff_id,
        case
            when outcomes.terminal_stage not in ('disqualified', 'recycled') or outcomes.terminal_stage is null then null
            when tracked.lead_id is not null then reason_changes_in_window.recorded_reason
            when handoffs.crm_source_object = 'Lead' then
                case outcomes.terminal_stage when 'disqualified' then leads.disqualified_reason else leads.recycled_reason end
            when handoffs.crm_source_object = 'Contact' then
                case outcomes.terminal_stage when 'disqualified' then contacts.disqualified_reason else contacts.recycled_reason end
            when handoffs.crm_source_object = 'contacts' then hubspot_contacts.lead_status_reason
        end                                                                      as outcome_reason
    from outcomes
    join handoffs using (handoff_id)
    left join reason_changes_in_window using (handoff_id)
    left join leads_with_reason_history as tracked
      on handoffs.crm_source_object = 'Lead' and tracked.lead_id = handoffs.crm_source_id
     and tracked.field = outcomes.salesforce_reason_field
    left join {{ ref('stg_salesforce__leads') }} as leads
      on handoffs.crm_source_object = 'Lead' and leads.lead_id = handoffs.crm_source_id
    left join {{ ref('stg_salesforce__contacts') }} as contacts
      on handoffs.crm_source_object = 'Contact' and contacts.contact_id = handoffs.crm_source_id
    left join {{ ref('stg_hubspot__contacts') }} as hubspot_contacts
      on handoffs.crm_source_object = 'contacts' and hubspot_contacts.contact_id = handoffs.crm_source_id
),

resolved_outcomes as (
    select
        outcomes.handoff_id,
        case
            when outcomes.terminal_stage in ('sql', 'opportunity', 'customer') then 'converted'
            when outcomes.terminal_stage = 'disqualified' and reasons.outcome_reason in (
                {%- for reason in no_response_reasons %}'{{ reason }}'{{ ", " if not loop.last }}{% endfor -%}
            ) then 'no_response'
            when outcomes.terminal_stage = 'disqualified' then 'disqualified'
            when outcomes.terminal_stage = 'recycled' then 'recycled'
            when outcomes.accepted_at is not null then 'accepted'
            else 'open'
        end                                                                      as outcome,
        reasons.outcome_reason,
        coalesce(outcomes.terminal_at, outcomes.accepted_at)                     as outcome_at,
        outcomes.terminal_at,
        outcomes.accepted_at,
        coalesce(reasons.outcome_reason in (
            {%- for reason in no_response_reasons %}'{{ reason }}'{{ ", " if not loop.last }}{% endfor -%}
        ), false)                                                                as is_no_response_reason
    from outcomes
    join reasons using (handoff_id)
),

handoff_touches as (
    -- a touch belongs to the latest handoff at or before it
    select
        handoffs.handoff_id,
        touches.*
    from handoffs
    join {{ ref('int_sales_activities_unioned') }} as touches
      on touches.person_id = handoffs.person_id
     and touches.touched_at >= handoffs.handed_off_at
     and (handoffs.next_handoff_at is null or touches.touched_at < handoffs.next_handoff_at)
    where touches.is_sales_touch
),

first_touches as (
    select distinct on (handoff_id)
        handoff_id,
        touched_at                                                               as first_sales_touch_at,
        owner_id                                                                 as first_sales_touch_owner_id,
        channel                                                                  as first_sales_touch_channel
    from handoff_touches
    order by handoff_id, touched_at, owner_id, sales_activity_id
),

attempts as (
    select
        handoff_touches.handoff_id,
        count(*) filter (where resolved_outcomes.terminal_at is null
                            or handoff_touches.touched_at <= resolved_outcomes.terminal_at) as sales_touch_attempts,
        count(*)                                                                 as sales_touches_in_handoff,
        count(distinct handoff_touches.owner_id)                                 as sales_touch_owner_count
    from handoff_touches
    join resolved_outcomes using (handoff_id)
    group by handoff_touches.handoff_id
),

marketing_touches as (
    select
        handoffs.handoff_id,
        count(touchpoints.touchpoint_id)                                         as marketing_touches_before_handoff,
        (array_agg(touchpoints.campaign_id order by touchpoints.touched_at desc, touchpoints.touchpoint_id)
            filter (where touchpoints.campaign_id is not null))[1]               as last_touch_campaign_id,
        (array_agg(touchpoints.channel order by touchpoints.touched_at desc, touchpoints.touchpoint_id))[1]
                                                                                 as last_touch_channel
    from handoffs
    left join {{ ref('fct_touchpoints') }} as touchpoints
      on touchpoints.person_id = handoffs.person_id
     and touchpoints.touched_at < handoffs.handed_off_at
    group by handoffs.handoff_id
),

context as (
    select
        handoff_id,
        bool_and(not is_missing) filter (where field_group = 'behavioural')     as has_behavioural_context,
        bool_and(not is_missing) filter (where field_group = 'firmographic')    as has_firmographic_context,
        count(*) filter (where is_missing)                                       as missing_context_field_count,
        string_agg(field_name, ', ' order by field_name) filter (where is_missing) as missing_context_fields,
        max(field_value) filter (where field_name = 'country')                   as record_country,
        max(field_value) filter (where field_name = 'industry')                  as record_industry,
        max(field_value) filter (where field_name = 'lead_source')               as record_lead_source
    from {{ ref('int_handoff_context_fields') }}
    group by handoff_id
),

people as (
    select person_id, account_id, original_channel from {{ ref('dim_people') }}
),

routed as (
    -- no account owner: the routing seed may name the expected owner for the person's segment
    select distinct on (handoffs.handoff_id)
        handoffs.handoff_id,
        {{ owner_key('rules.owner_source_system', 'rules.owner_source_id') }}   as routed_owner_id
    from handoffs
    left join context using (handoff_id)
    left join people using (person_id)
    join {{ ref('handoff_routing_rules') }} as rules
      on lower(rules.segment_value) = lower(case rules.segment_field
             when 'country' then context.record_country
             when 'industry' then context.record_industry
             when 'lead_source' then context.record_lead_source
             when 'original_channel' then people.original_channel
         end)
    where handoffs.account_owner_id is null
    order by handoffs.handoff_id, rules.priority
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
        owner.owner_type                                                         as owner_type,
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
        context.missing_context_fields,
        {{ business_minutes_between('handoffs.handed_off_at', as_of()) }}       as business_minutes_to_as_of
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
             and lower(coalesce(owner_email, '')) is distinct from lower(coalesce(expected_owner_email, '-'))
            then 'not_account_owner'
    end                                                                          as misroute_reason,
    (owner_id is null
     or owner_type = 'Group' or owner_role = 'queue'
     or not coalesce(is_owner_active, false)
     or (expected_owner_id is not null and owner_id <> expected_owner_id
         and lower(coalesce(owner_email, '')) is distinct from lower(coalesce(expected_owner_email, '-'))))
                                                                                 as is_misrouted,
    first_sales_touch_at,
    first_sales_touch_owner_id,
    first_sales_touch_channel,
    (floor(extract(epoch from first_sales_touch_at - handed_off_at) / 60))::integer as response_minutes,
    {{ business_minutes_between('handed_off_at', 'first_sales_touch_at') }}     as response_business_minutes,
    {{ business_minutes_add('handed_off_at', sla_minutes) }}                    as sla_due_at,
    coalesce({{ business_minutes_between('handed_off_at', 'first_sales_touch_at') }}, business_minutes_to_as_of)
        > {{ sla_minutes }}                                                      as is_sla_breached,
    business_minutes_to_as_of,
    (first_sales_touch_at is null and business_minutes_to_as_of > {{ black_hole_minutes }}) as is_black_hole,
    sales_touch_attempts::integer                                                as sales_touch_attempts,
    sales_touches_in_handoff::integer                                            as sales_touches_in_handoff,
    outcome,
    outcome_reason,
    outcome_at,
    is_no_response_reason,
    accepted_at,
    marketing_touches_before_handoff::integer                                    as marketing_touches_before_handoff,
    last_touch_campaign_id,
    last_touch_channel,
    coalesce(has_behavioural_context, false)                                     as has_behavioural_context,
    coalesce(has_firmographic_context, false)                                    as has_firmographic_context,
    missing_context_field_count::integer                                         as missing_context_field_count,
    missing_context_fields
from assembled
