{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='activity_key',
          on_schema_change='sync_all_columns',
          indexes=[{'columns': ['activity_key']}, {'columns': ['record_key']}, {'columns': ['_loaded_at']}]) }}
{#-
    One row per logged sales activity × person record it names, whatever its time (as-of applies
    downstream): Salesforce Tasks, Salesforce Events (meetings, at their start), HubSpot calls,
    emails and meetings (one row per contact an engagement names). `is_logged_activity` says
    whether it counts as a sales activity of docs/warehouse.md: a completed call or email task,
    a meeting, a HubSpot call or meeting not canceled or queued, a HubSpot email the rep sent;
    never a deleted one, nor a task Baton's SLA watch wrote (subject starting with var
    baton_task_subject_prefix: a reminder for the rep, whatever its subtype or status;
    docs/write-back.md; HubSpot tasks are not read here at all). Every version the loader wrote is kept with its flag, so an incremental
    build (the rows loaded since the last build, by activity) replaces what changed, a deletion too.
-#}
{%- set completed_task_statuses = var('salesforce_completed_task_statuses') -%}
{%- set baton_task_prefix = var('baton_task_subject_prefix') -%}

with salesforce_tasks as (
    select
        'salesforce' as source_system, 'Task' as source_object, task_id as source_id,
        case when who_id like '00Q%' then {{ record_key('salesforce', 'Lead', 'who_id') }}
             when who_id like '003%' then {{ record_key('salesforce', 'Contact', 'who_id') }} end as record_key,
        coalesce(completed_at, created_at) as touched_at,
        lower(task_subtype) as channel,
        owner_id as source_owner_id,
        (not is_deleted
         and coalesce(task_subtype in ('Call', 'Email'), false)
         and coalesce(status in (
             {%- for status in completed_task_statuses %}'{{ status }}'{{ ", " if not loop.last }}{% endfor -%}
         ), false)
         and not {{ text_starts_with("coalesce(subject, '')", "'" ~ (baton_task_prefix | replace("'", "''")) ~ "'") }}) as is_logged_activity,
        _loaded_at
    from {{ ref('stg_salesforce__tasks') }}
    where true {{ loaded_since_last_build() }}
),

salesforce_events as (
    select
        'salesforce', 'Event', event_id,
        case when who_id like '00Q%' then {{ record_key('salesforce', 'Lead', 'who_id') }}
             when who_id like '003%' then {{ record_key('salesforce', 'Contact', 'who_id') }} end,
        start_at,
        'meeting',
        owner_id,
        not is_deleted,
        _loaded_at
    from {{ ref('stg_salesforce__events') }}
    where true {{ loaded_since_last_build() }}
),

hubspot_engagements as (
    select 'calls' as source_object, call_id as source_id, occurred_at as touched_at, 'call' as channel,
           owner_id, contact_ids,
           not is_deleted and coalesce(upper(status), '') not in ('CANCELED', 'QUEUED') as is_logged_activity,
           _loaded_at
    from {{ ref('stg_hubspot__calls') }}
    where true {{ loaded_since_last_build() }}
    union all
    select 'emails', email_id, occurred_at, 'email', owner_id, contact_ids,
           not is_deleted and coalesce(upper(direction), '') <> 'INCOMING_EMAIL',
           _loaded_at
    from {{ ref('stg_hubspot__emails') }}
    where true {{ loaded_since_last_build() }}
    union all
    select 'meetings', meeting_id, coalesce(start_at, occurred_at), 'meeting', owner_id, contact_ids,
           not is_deleted and coalesce(upper(status), '') not in ('CANCELED', 'RESCHEDULED'),
           _loaded_at
    from {{ ref('stg_hubspot__meetings') }}
    where true {{ loaded_since_last_build() }}
),

hubspot_touches as (
    select
        'hubspot', engagements.source_object, engagements.source_id,
        {{ record_key('hubspot', 'contacts', 'contact.contact_id') }},
        engagements.touched_at,
        engagements.channel,
        engagements.owner_id,
        engagements.is_logged_activity,
        engagements._loaded_at
    from hubspot_engagements as engagements
    -- an engagement naming no contact keeps a row (no record), so a build replaces its old ones
    {{ array_rows('engagements.contact_ids', 'contact', 'contact_id', keep_empty=true) }}
),

activities as (
    select * from salesforce_tasks
    union all
    select * from salesforce_events
    union all
    select * from hubspot_touches
)

select
    source_system || ':' || source_object || ':' || source_id as activity_key,
    source_system,
    source_object,
    source_id,
    record_key,
    touched_at,
    channel,
    source_owner_id,
    is_logged_activity,
    _loaded_at
from activities
