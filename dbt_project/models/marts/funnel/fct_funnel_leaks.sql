{#- Batch joins: hash joins, not nested loops guessed from CTE estimates; no JIT compile of the large plan. -#}
{{ config(pre_hook=["set local jit = off", "set local enable_nestloop = off"]) }}
{#-
    One row per detected funnel leak (CONTRACT.md §5): nine rules, each driven by dbt vars
    (black_hole_business_days, sla_business_minutes, premature_give_up_attempts,
    duplicate_outreach_days, stalled_days, no_response_reasons), every "now" at as-of.
    `detail` is the sentence a sales manager reads: who had the lead, since when, what did or
    did not happen.
-#}
{%- set day_minutes = business_day_minutes() | int -%}
{%- set black_hole_days = var('black_hole_business_days', 5) | int -%}
{%- set black_hole_minutes = black_hole_days * day_minutes -%}
{%- set sla_minutes = var('sla_business_minutes', 480) | int -%}
{%- set give_up_attempts = var('premature_give_up_attempts', 5) | int -%}
{%- set duplicate_days = var('duplicate_outreach_days', 7) | int -%}
{%- set stalled_days = var('stalled_days', 30) | int -%}

with handoffs as (
    select * from {{ ref('fct_handoffs') }}
),

owners as (
    select owner_id, name, role, team, email, owner_type, is_active from {{ ref('int_owners_with_roles') }}
),

people as (
    select
        person_id,
        account_id,
        owner_id,
        coalesce(nullif(concat_ws(' ', first_name, last_name), ''), email, 'person ' || left(person_id, 8))
            || case when email is not null and concat_ws(' ', first_name, last_name) <> '' then ' <' || email || '>' else '' end
            as person_label
    from {{ ref('dim_people') }}
),

described_handoffs as (
    select
        handoffs.*,
        people.person_label,
        coalesce(owner.name, 'nobody')                                            as owner_label,
        owner.team                                                                as owner_team,
        expected.name                                                             as expected_owner_label,
        first_toucher.name                                                        as first_toucher_label,
        case handoffs.crm_source_object when 'Lead' then 'Lead' when 'Contact' then 'Contact'
             when 'contacts' then 'Contact' else 'Lead' end                       as record_word
    from handoffs
    left join people using (person_id)
    left join owners as owner on owner.owner_id = handoffs.owner_id
    left join owners as expected on expected.owner_id = handoffs.expected_owner_id
    left join owners as first_toucher on first_toucher.owner_id = handoffs.first_sales_touch_owner_id
),

black_holes as (
    select
        'black_hole' as leak_type, person_id, handoff_id, owner_id,
        {{ business_minutes_add('handed_off_at', black_hole_minutes) }} as detected_at,
        'high' as severity,
        record_word || ' ' || person_label || ' handed to ' || owner_label || ' on ' || {{ readable_instant('handed_off_at') }}
            || ': no sales touch in ' || floor(business_minutes_to_as_of / {{ day_minutes }}.0)::int
            || ' business days (more than {{ black_hole_days }}) as of ' || {{ readable_instant(as_of()) }} || '.' as detail
    from described_handoffs
    where is_black_hole
),

slow_responses as (
    select
        'slow_response', person_id, handoff_id, owner_id,
        {{ business_minutes_add('handed_off_at', sla_minutes) }},
        case when response_business_minutes > {{ black_hole_minutes }} then 'high' else 'medium' end,
        record_word || ' ' || person_label || ' handed to ' || owner_label || ' on ' || {{ readable_instant('handed_off_at') }}
            || case
                when first_sales_touch_at is null
                    then ': no sales touch yet after ' || business_minutes_to_as_of || ' business minutes'
                else ': first sales touch by ' || coalesce(first_toucher_label, 'an unknown rep') || ' on '
                     || {{ readable_instant('first_sales_touch_at') }} || ', after ' || response_business_minutes || ' business minutes'
               end
            || ' (SLA {{ sla_minutes }}).'
    from described_handoffs
    where is_sla_breached and not is_black_hole
),

misrouted as (
    select
        'misrouted', person_id, handoff_id, owner_id,
        coalesce(crm_reached_at, handed_off_at),
        case when misroute_reason in ('no_owner', 'inactive_owner') then 'high' else 'medium' end,
        record_word || ' ' || person_label || ' handed off on ' || {{ readable_instant('handed_off_at') }} || ' '
            || case misroute_reason
                when 'no_owner' then 'with no owner'
                when 'queue' then 'to the queue ' || owner_label || ', not a rep'
                when 'inactive_owner' then 'to ' || owner_label || ', an inactive user'
                else 'to ' || owner_label
               end
            || case when expected_owner_label is not null and misroute_reason is distinct from 'not_account_owner'
                    then '; the account owner is ' || expected_owner_label
                    when expected_owner_label is not null
                    then ' instead of ' || case expected_owner_source when 'routing_rule' then 'the routed owner '
                                                 else 'the account owner ' end || expected_owner_label
                    else '' end || '.'
    from described_handoffs
    where is_misrouted
),

premature_give_ups as (
    select
        'premature_give_up', person_id, handoff_id, owner_id,
        outcome_at,
        'high',
        record_word || ' ' || person_label || ' handed to ' || owner_label || ' on ' || {{ readable_instant('handed_off_at') }}
            || ', closed as ' || outcome || ' ("' || outcome_reason || '") on ' || {{ readable_instant('outcome_at') }}
            || ' after ' || sales_touch_attempts || ' sales touch attempt'
            || case when sales_touch_attempts = 1 then '' else 's' end || ' (fewer than {{ give_up_attempts }}).'
    from described_handoffs
    where outcome in ('no_response', 'disqualified', 'recycled')
      and is_no_response_reason
      and sales_touch_attempts < {{ give_up_attempts }}
),

rejections_without_reason as (
    select
        'rejected_without_reason', person_id, handoff_id, owner_id,
        outcome_at,
        'low',
        record_word || ' ' || person_label || ' handed to ' || owner_label || ' on ' || {{ readable_instant('handed_off_at') }}
            || ', was ' || outcome || ' on ' || {{ readable_instant('outcome_at') }} || ' with no reason recorded.'
    from described_handoffs
    where outcome in ('disqualified', 'recycled') and outcome_reason is null
),

context_stripped as (
    select
        'context_stripped', person_id, handoff_id, owner_id,
        {{ as_of() }},
        case when not has_behavioural_context or missing_context_fields like '%email%' then 'medium' else 'low' end,
        record_word || ' ' || person_label || ' handed to ' || owner_label || ' on ' || {{ readable_instant('handed_off_at') }}
            || ' lacks ' || missing_context_fields || ' on its ' || crm_source_system || ' record '
            || crm_source_id || ' (as of ' || {{ readable_instant(as_of()) }} || ').'
    from described_handoffs
    where missing_context_field_count > 0
),

sales_touches as (
    -- every sales touch with the handoff it belongs to (the latest at or before it; none before the first)
    select
        touches.person_id,
        touches.sales_activity_id,
        touches.touched_at,
        touches.owner_id                                                          as toucher_id,
        touches.owner_role                                                        as toucher_role,
        coalesce(lower(owners.email), touches.owner_id)                           as toucher_identity,
        owners.name                                                               as toucher_label,
        handoffs.handoff_id
    from {{ ref('int_sales_activities_unioned') }} as touches
    left join owners on owners.owner_id = touches.owner_id
    left join handoffs
      on handoffs.person_id = touches.person_id
     and touches.touched_at >= handoffs.handed_off_at
     and (handoffs.next_handoff_at is null or touches.touched_at < handoffs.next_handoff_at)
    where touches.is_sales_touch
),

duplicate_touches as (
    -- per person and handoff, the first touch that followed another sales user's within the window
    select distinct on (later.person_id, later.handoff_id)
        later.person_id,
        later.handoff_id,
        later.toucher_id,
        later.touched_at,
        later.toucher_label,
        earlier.toucher_label                                                     as earlier_toucher_label,
        earlier.touched_at                                                        as earlier_touched_at
    from sales_touches as later
    join sales_touches as earlier
      on earlier.person_id = later.person_id
     and earlier.touched_at < later.touched_at
     and earlier.touched_at >= later.touched_at - interval '{{ duplicate_days }} days'
     and earlier.toucher_identity <> later.toucher_identity
    order by later.person_id, later.handoff_id, later.touched_at, later.sales_activity_id, earlier.touched_at desc
),

duplicate_outreach as (
    select
        'duplicate_outreach', duplicate_touches.person_id, duplicate_touches.handoff_id,
        duplicate_touches.toucher_id,
        duplicate_touches.touched_at,
        'medium',
        coalesce(people.person_label, duplicate_touches.person_id) || ' was touched by '
            || coalesce(duplicate_touches.toucher_label, 'an unknown rep') || ' on ' || {{ readable_instant('duplicate_touches.touched_at') }}
            || ', ' || round(extract(epoch from duplicate_touches.touched_at - duplicate_touches.earlier_touched_at) / 86400.0, 1)
            || ' days after ' || coalesce(duplicate_touches.earlier_toucher_label, 'another rep') || ' (within {{ duplicate_days }} days).'
    from duplicate_touches
    left join people using (person_id)
),

customer_wins as (
    select account_id, min(coalesce(closed_at, close_date::timestamptz)) as first_won_at
    from {{ ref('fct_opportunities') }}
    where is_won and account_id is not null and not coalesce(is_deleted, false)
    group by account_id
),

person_account_links as (
    -- the person's accounts and since when the person was known to belong to them: a corporate
    -- email domain and a HubSpot company from the start, a Salesforce contact's account from the
    -- contact's creation (a personal-email lead joins its company only when converted)
    select records.person_id, accounts.account_id, '-infinity'::timestamptz as linked_from
    from {{ ref('int_people_matched_across_sources') }} as records
    join {{ ref('int_accounts_matched_across_sources') }} as accounts
      on accounts.domain = split_part(records.email, '@', 2)
    left join {{ ref('personal_email_domains') }} as personal on personal.domain = split_part(records.email, '@', 2)
    where records.email like '%_@_%' and personal.domain is null
    union all
    select records.person_id, accounts.account_id, '-infinity'::timestamptz
    from {{ ref('int_people_matched_across_sources') }} as records
    join {{ ref('int_accounts_matched_across_sources') }} as accounts
      on accounts.source_system = 'hubspot' and accounts.source_id = records.hubspot_company_id
    where records.source_object = 'contacts'
    union all
    select records.person_id, accounts.account_id, coalesce(records.created_at, '-infinity'::timestamptz)
    from {{ ref('int_people_matched_across_sources') }} as records
    join {{ ref('int_accounts_matched_across_sources') }} as accounts
      on accounts.source_system = 'salesforce' and accounts.source_id = records.crm_account_id
    where records.source_object = 'Contact'
),

customer_prospecting as (
    select distinct on (touches.person_id, touches.handoff_id)
        touches.person_id,
        touches.handoff_id,
        touches.toucher_id,
        touches.touched_at,
        touches.toucher_label,
        customer_wins.first_won_at
    from sales_touches as touches
    join person_account_links as links
      on links.person_id = touches.person_id and links.linked_from <= touches.touched_at
    join customer_wins on customer_wins.account_id = links.account_id
    where touches.toucher_role = 'sdr'
      and customer_wins.first_won_at < touches.touched_at
    order by touches.person_id, touches.handoff_id, touches.touched_at, touches.sales_activity_id,
             customer_wins.first_won_at
),

existing_customers_prospected as (
    select
        'existing_customer_prospected', customer_prospecting.person_id, customer_prospecting.handoff_id,
        customer_prospecting.toucher_id,
        customer_prospecting.touched_at,
        'medium',
        coalesce(people.person_label, customer_prospecting.person_id) || ' was prospected by SDR '
            || coalesce(customer_prospecting.toucher_label, 'unknown') || ' on ' || {{ readable_instant('customer_prospecting.touched_at') }}
            || ', though the account has been a customer since ' || {{ readable_instant('customer_prospecting.first_won_at') }} || '.'
    from customer_prospecting
    left join people using (person_id)
),

current_stages as (
    select person_id, stage, entered_at
    from {{ ref('fct_lifecycle_stage_history') }}
    where is_current and stage in ('sal', 'sql')
),

last_touches as (
    select person_id, max(touched_at) as last_touched_at
    from (
        select person_id, touched_at from {{ ref('int_sales_activities_unioned') }} where is_sales_touch
        union all
        select person_id, touched_at from {{ ref('fct_touchpoints') }}
    ) as touches
    where touched_at <= {{ as_of() }}
    group by person_id
),

latest_handoffs as (
    -- the person's latest handoff and its CRM record's owner today
    select distinct on (handoffs.person_id)
        handoffs.person_id,
        handoffs.handoff_id,
        case when coalesce(leads.owner_id, contacts.owner_id, hubspot_contacts.owner_id) is not null
             then {{ owner_key('handoffs.crm_source_system', 'coalesce(leads.owner_id, contacts.owner_id, hubspot_contacts.owner_id)') }}
        end                                                                       as owner_id
    from handoffs
    left join {{ ref('stg_salesforce__leads') }} as leads
      on handoffs.crm_source_object = 'Lead' and leads.lead_id = handoffs.crm_source_id
    left join {{ ref('stg_salesforce__contacts') }} as contacts
      on handoffs.crm_source_object = 'Contact' and contacts.contact_id = handoffs.crm_source_id
    left join {{ ref('stg_hubspot__contacts') }} as hubspot_contacts
      on handoffs.crm_source_object = 'contacts' and hubspot_contacts.contact_id = handoffs.crm_source_id
    order by handoffs.person_id, handoffs.handed_off_at desc
),

stalled as (
    select
        'stalled', current_stages.person_id, latest_handoffs.handoff_id,
        latest_handoffs.owner_id,
        greatest(current_stages.entered_at, last_touches.last_touched_at) + interval '{{ stalled_days }} days',
        case when current_stages.stage = 'sql' then 'high' else 'medium' end,
        coalesce(people.person_label, current_stages.person_id) || ' has sat in ' || current_stages.stage
            || ' since ' || {{ readable_instant('current_stages.entered_at') }} || ' with '
            || case when last_touches.last_touched_at is null then 'no touch at all'
                    else 'no touch since ' || {{ readable_instant('last_touches.last_touched_at') }} end
            || ' (owner ' || coalesce(owner.name, 'nobody') || '; more than {{ stalled_days }} days as of '
            || {{ readable_instant(as_of()) }} || ').'
    from current_stages
    left join last_touches using (person_id)
    left join latest_handoffs using (person_id)
    left join people using (person_id)
    left join owners as owner on owner.owner_id = latest_handoffs.owner_id
    where current_stages.entered_at <= {{ as_of() }} - interval '{{ stalled_days }} days'
      and (last_touches.last_touched_at is null
           or last_touches.last_touched_at <= {{ as_of() }} - interval '{{ stalled_days }} days')
),

leaks as (
    select * from black_holes
    union all select * from slow_responses
    union all select * from misrouted
    union all select * from premature_give_ups
    union all select * from rejections_without_reason
    union all select * from context_stripped
    union all select * from duplicate_outreach
    union all select * from existing_customers_prospected
    union all select * from stalled
)

select
    {{ surrogate_key(["'leak'", 'leaks.leak_type', 'leaks.person_id', 'leaks.handoff_id']) }} as leak_id,
    leaks.leak_type,
    leaks.person_id,
    leaks.handoff_id,
    leaks.owner_id,
    owners.name                                                                   as owner_name,
    owners.team                                                                   as owner_team,
    people.account_id,
    handoffs.handed_off_at,
    leaks.detected_at,
    leaks.severity,
    leaks.detail
from leaks
left join owners on owners.owner_id = leaks.owner_id
left join people on people.person_id = leaks.person_id
left join handoffs on handoffs.handoff_id = leaks.handoff_id
