{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='record_key',
          rebuilt_keys_from='int_person_records_changed', on_schema_change='sync_all_columns',
          indexes=[{'columns': ['record_key']}, {'columns': ['signaled_at']}]) }}
-- One row per sign, in any system, that a person record entered a canonical stage: Salesforce
-- lead status (its first value and every LeadHistory change), contact roles on opportunities
-- (opportunity, and customer once won), HubSpot lifecyclestage / hs_lead_status history,
-- Marketo leadStatus (its first value and every Change Data Value). Values map through stage_map.
-- Incremental by record: a build rebuilds the signals of int_person_records_changed.
with stage_map as (
    select * from {{ ref('stage_map') }}
),

lead_status_history as (
    select lead_id, new_value, old_value, created_at, lead_history_id,
           row_number() over (partition by lead_id order by created_at, lead_history_id) as change_number
    from {{ ref('stg_salesforce__lead_history') }}
    where field = 'Status' and not is_deleted {{ in_changed_records('lead_id', 'salesforce', 'Lead') }}
),

salesforce_lead_signals as (
    -- The status a lead was created with: the first change's old value, else its status today.
    select
        {{ record_key('salesforce', 'Lead', 'leads.lead_id') }} as record_key,
        'salesforce' as source_system, 'Lead.Status' as field,
        coalesce(first_change.old_value, case when first_change.lead_id is null then leads.status end) as value,
        leads.created_at as signaled_at,
        'Lead:' || leads.lead_id || ':created' as signal_source_id
    from {{ ref('stg_salesforce__leads') }} as leads
    left join lead_status_history as first_change
      on first_change.lead_id = leads.lead_id and first_change.change_number = 1
    where true {{ in_changed_records('leads.lead_id', 'salesforce', 'Lead') }}
    union all
    select
        {{ record_key('salesforce', 'Lead', 'lead_id') }}, 'salesforce', 'Lead.Status',
        new_value, created_at, 'LeadHistory:' || lead_history_id
    from lead_status_history
),

opportunity_won as (
    -- When an opportunity was won: its last StageName change, else its last modification.
    select
        opportunities.opportunity_id,
        coalesce(max(history.created_at), opportunities.last_modified_at, cast(opportunities.close_date as {{ engine_type('timestamptz') }})) as won_at
    from {{ ref('stg_salesforce__opportunities') }} as opportunities
    left join {{ ref('stg_salesforce__opportunity_field_history') }} as history
      on history.opportunity_id = opportunities.opportunity_id and history.field = 'StageName' and not history.is_deleted
    where opportunities.is_won
    group by opportunities.opportunity_id, opportunities.last_modified_at, opportunities.close_date
),

salesforce_opportunity_signals as (
    select
        {{ record_key('salesforce', 'Contact', 'roles.contact_id') }} as record_key,
        'salesforce' as source_system, 'Opportunity' as field, 'created' as value,
        greatest(opportunities.created_at, roles.created_at) as signaled_at,
        'OpportunityContactRole:' || roles.opportunity_contact_role_id || ':opportunity' as signal_source_id
    from {{ ref('stg_salesforce__opportunity_contact_roles') }} as roles
    join {{ ref('stg_salesforce__opportunities') }} as opportunities using (opportunity_id)
    where not roles.is_deleted and not opportunities.is_deleted
        {{ in_changed_records('roles.contact_id', 'salesforce', 'Contact') }}
    union all
    select
        {{ record_key('salesforce', 'Contact', 'roles.contact_id') }},
        'salesforce', 'Opportunity.IsWon', 'true',
        greatest(opportunity_won.won_at, roles.created_at),
        'OpportunityContactRole:' || roles.opportunity_contact_role_id || ':won'
    from {{ ref('stg_salesforce__opportunity_contact_roles') }} as roles
    join opportunity_won using (opportunity_id)
    where not roles.is_deleted {{ in_changed_records('roles.contact_id', 'salesforce', 'Contact') }}
),

hubspot_history as (
    -- every entry of the contacts' lifecyclestage and hs_lead_status property histories, numbered
    {%- for field in ['lifecyclestage', 'hs_lead_status'] %}
    select
        contacts.contact_id,
        '{{ field }}' as field,
        entries.entry,
        {{ array_rows_position('entries', 'position') }} as position
    from {{ ref('stg_hubspot__contacts') }} as contacts
        {{ json_array_rows(json_value('contacts.properties_with_history', [field]), 'entries', 'entry', 'position') }}
    where true {{ in_changed_records('contacts.contact_id', 'hubspot', 'contacts') }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

hubspot_signals as (
    select
        {{ record_key('hubspot', 'contacts', 'history.contact_id') }} as record_key,
        'hubspot' as source_system, history.field, {{ json_text('history.entry', 'value') }} as value,
        {{ json_epoch_or_iso(json_text('history.entry', 'timestamp')) }} as signaled_at,
        'contacts:' || history.contact_id || ':' || history.field || ':' || cast(history.position as {{ engine_type('text') }})
            as signal_source_id
    from hubspot_history as history
    where nullif({{ json_text('history.entry', 'value') }}, '') is not null
    union all
    -- Archived contacts come without property history: their lifecycle stage as it stands, from
    -- their creation (merged-away duplicates excluded: the winner's history is the person's).
    select
        {{ record_key('hubspot', 'contacts', 'contacts.contact_id') }}, 'hubspot', 'lifecyclestage',
        contacts.lifecycle_stage, contacts.created_at, 'contacts:' || contacts.contact_id || ':lifecyclestage:current'
    from {{ ref('stg_hubspot__contacts') }} as contacts
    where not {{ json_is_array(json_value('contacts.properties_with_history', ['lifecyclestage'])) }}
      and contacts.lifecycle_stage is not null
      {{ in_changed_records('contacts.contact_id', 'hubspot', 'contacts') }}
      and not exists (
          select 1 from {{ ref('int_person_record_links') }} as links
          where links.link_type = 'hubspot_merge'
            and links.to_key = {{ record_key('hubspot', 'contacts', 'contacts.contact_id') }})
),

marketo_status_changes as (
    select lead_id, new_value, old_value, activity_at, activity_id,
           row_number() over (partition by lead_id order by activity_at, activity_id) as change_number
    from {{ ref('int_marketo_activities_parsed') }}
    where activity_type_id = 13
      and lower(replace(primary_attribute_value, ' ', '')) = 'leadstatus'
      {{ in_changed_records('lead_id', 'marketo', 'lead') }}
),

marketo_leads as (
    select lead_id, lead_status, created_at from {{ ref('stg_marketo__leads') }}
    where true {{ in_changed_records('lead_id', 'marketo', 'lead') }}
    union all
    -- Leads known only from activities (deleted before Baton read them): created with the default status.
    select source_id, '{{ var("marketo_default_lead_status") }}', created_at
    from {{ ref('int_person_records_unioned') }}
    where source_system = 'marketo'
      and not exists (select 1 from {{ ref('stg_marketo__leads') }} as leads where leads.lead_id = source_id)
      {{ in_changed_records('source_id', 'marketo', 'lead') }}
),

marketo_signals as (
    select
        {{ record_key('marketo', 'lead', 'leads.lead_id') }} as record_key,
        'marketo' as source_system, 'leadStatus' as field,
        coalesce(first_change.old_value, case when first_change.lead_id is null then leads.lead_status end) as value,
        leads.created_at as signaled_at,
        'lead:' || leads.lead_id || ':created' as signal_source_id
    from marketo_leads as leads
    left join marketo_status_changes as first_change
      on first_change.lead_id = leads.lead_id and first_change.change_number = 1
    union all
    select
        {{ record_key('marketo', 'lead', 'lead_id') }}, 'marketo', 'leadStatus',
        new_value, activity_at, 'activity:' || activity_id
    from marketo_status_changes
),

signals as (
    select * from salesforce_lead_signals
    union all
    select * from salesforce_opportunity_signals
    union all
    select * from hubspot_signals
    union all
    select * from marketo_signals
)

select
    {{ surrogate_key(['signals.signal_source_id']) }} as signal_id,
    signals.record_key,
    signals.source_system,
    signals.field,
    signals.value,
    stage_map.stage,
    signals.signaled_at,
    signals.signal_source_id,
    -- The value a record was created with (not a change): a merged-away duplicate's is no news.
    (signals.signal_source_id like '%:created' or signals.signal_source_id like '%:current') as is_initial_value
from signals
join stage_map
  on stage_map.source_system = signals.source_system
 and stage_map.field = signals.field
 and stage_map.value = signals.value
where signals.signaled_at is not null
