{#- Batch joins: hash joins, not nested loops guessed from CTE estimates; no JIT compile of the large plan. -#}
{{ config(pre_hook=["set local jit = off", "set local enable_nestloop = off"]) }}
{#-
    One row per logged sales activity × person it names, up to as-of: Salesforce Tasks
    (completed calls and emails), Salesforce Events (meetings, at their start once it has
    passed), HubSpot calls, emails and meetings. `is_sales_touch` marks the sales touches of
    docs/warehouse.md: made by a user whose role is sdr or ae. The others (a manager's call, an
    activity of an unknown user) still count as "a touch of any kind" for the stalled rule.
    An engagement naming several contacts touches each of their people once. A HubSpot email
    the buyer sent (INCOMING_EMAIL) and a canceled or queued call or meeting are no touch.
    A task Baton's SLA watch wrote (subject starting with var baton_task_subject_prefix) is a
    reminder for the rep, never an activity, whatever its subtype or status (docs/write-back.md);
    HubSpot tasks are not read here at all.
-#}
{%- set sales_touch_roles = var('sales_touch_roles') -%}
{%- set completed_task_statuses = var('salesforce_completed_task_statuses') -%}
{%- set baton_task_prefix = var('baton_task_subject_prefix') -%}

with salesforce_tasks as (
    select
        'salesforce' as source_system, 'Task' as source_object, task_id as source_id,
        case when who_id like '00Q%' then {{ record_key('salesforce', 'Lead', 'who_id') }}
             when who_id like '003%' then {{ record_key('salesforce', 'Contact', 'who_id') }} end as record_key,
        coalesce(completed_at, created_at) as touched_at,
        lower(task_subtype) as channel,
        owner_id as source_owner_id
    from {{ ref('stg_salesforce__tasks') }}
    where not is_deleted
      and task_subtype in ('Call', 'Email')
      and status in ({%- for status in completed_task_statuses %}'{{ status }}'{{ ", " if not loop.last }}{% endfor -%})
      and not starts_with(coalesce(subject, ''), '{{ baton_task_prefix | replace("'", "''") }}')
),

salesforce_events as (
    select
        'salesforce', 'Event', event_id,
        case when who_id like '00Q%' then {{ record_key('salesforce', 'Lead', 'who_id') }}
             when who_id like '003%' then {{ record_key('salesforce', 'Contact', 'who_id') }} end,
        start_at,
        'meeting',
        owner_id
    from {{ ref('stg_salesforce__events') }}
    where not is_deleted
),

hubspot_engagements as (
    select 'calls' as source_object, call_id as source_id, occurred_at as touched_at, 'call' as channel,
           owner_id, contact_ids
    from {{ ref('stg_hubspot__calls') }}
    where not is_deleted and coalesce(upper(status), '') not in ('CANCELED', 'QUEUED')
    union all
    select 'emails', email_id, occurred_at, 'email', owner_id, contact_ids
    from {{ ref('stg_hubspot__emails') }}
    where not is_deleted and coalesce(upper(direction), '') <> 'INCOMING_EMAIL'
    union all
    select 'meetings', meeting_id, coalesce(start_at, occurred_at), 'meeting', owner_id, contact_ids
    from {{ ref('stg_hubspot__meetings') }}
    where not is_deleted and coalesce(upper(status), '') not in ('CANCELED', 'RESCHEDULED')
),

hubspot_touches as (
    select
        'hubspot', engagements.source_object, engagements.source_id,
        {{ record_key('hubspot', 'contacts', 'contact.contact_id') }},
        engagements.touched_at,
        engagements.channel,
        engagements.owner_id
    from hubspot_engagements as engagements
    cross join lateral unnest(engagements.contact_ids) as contact(contact_id)
),

activities as (
    select * from salesforce_tasks
    union all
    select * from salesforce_events
    union all
    select * from hubspot_touches
),

on_people as (
    select distinct on (activities.source_system, activities.source_object, activities.source_id, people.person_id)
        activities.*,
        people.person_id
    from activities
    join {{ ref('int_people_matched_across_sources') }} as people using (record_key)
    where activities.touched_at is not null
      and activities.touched_at <= {{ as_of() }}
    order by activities.source_system, activities.source_object, activities.source_id, people.person_id,
             activities.record_key
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
