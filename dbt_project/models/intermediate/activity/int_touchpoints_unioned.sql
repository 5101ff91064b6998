{{ config(materialized='incremental', unique_key='touchpoint_id', incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns',
          indexes=[{'columns': ['touchpoint_id'], 'unique': true}, {'columns': ['record_key']}, {'columns': ['email']},
                   {'columns': ['_loaded_at']}, {'columns': ['touched_at']}]) }}
-- One row per marketing touch (docs/warehouse.md) as the source recorded it, before it is tied
-- to a person: Marketo form fills, email clicks, web visits and program attendance,
-- Salesforce campaign members (is_marketing_touch once they responded), HubSpot form submissions
-- and marketing email clicks. _loaded_at is when the loader last wrote the touch or the program,
-- campaign or form it names. Incremental (macros/incremental.sql): a build reads the touches
-- written since the last build and those whose program, campaign or form was.
{%- set state = incremental_state() %}
{%- set incremental = not rebuilds_everything() %}
{%- set since = text_to_instant("'" ~ state.changed_since ~ "'") if incremental else none %}

with marketo_activities as (
    select
        'marketo_activity' as touch_source,
        'marketo' as source_system, 'activity' as source_object, activity_id as source_id,
        {{ record_key('marketo', 'lead', 'lead_id') }} as record_key,
        cast(null as {{ engine_type('text') }}) as email,
        activity_at as touched_at,
        case activities.activity_type_id
            when 2 then 'form_fill'
            when 11 then 'email_click'
            when 1 then 'web_visit'
        end as touch_type,
        activities.campaign_id,
        'program_channel' as channel_field,
        programs.channel as channel_value,
        activities.primary_attribute_value as touch_detail,
        true as is_marketing_touch,
        activities.is_deleted,
        greatest(activities._loaded_at, programs._loaded_at) as _loaded_at
    from {{ ref('int_marketo_activities_parsed') }} as activities
    -- Marketo names the program of a form fill or email click as the activity's campaign.
    left join {{ ref('stg_marketo__programs') }} as programs on programs.program_id = activities.campaign_id
    -- Program attendance (104) is not counted: the CRM's responded campaign member is that touch.
    where activities.activity_type_id in (1, 2, 11)
    {%- if incremental %}
      and activities.activity_id in (
          select activity_id from {{ ref('int_marketo_activities_parsed') }} where _loaded_at >= {{ since }}
          union
          select activity_id from {{ ref('int_marketo_activities_parsed') }}
          where campaign_id in (select program_id from {{ ref('stg_marketo__programs') }} where _loaded_at >= {{ since }})
      )
    {%- endif %}
),

campaign_members as (
    select
        'salesforce_campaign_member', 'salesforce', 'CampaignMember', members.campaign_member_id,
        case when members.contact_id is not null
             then {{ record_key('salesforce', 'Contact', 'members.contact_id') }}
             else {{ record_key('salesforce', 'Lead', 'members.lead_id') }} end,
        cast(null as {{ engine_type('text') }}),
        -- FirstRespondedDate is a date: a member created responded touched at its creation.
        case when members.first_responded_at is null or cast(members.first_responded_at as {{ engine_type('date') }}) <= cast(members.created_at as {{ engine_type('date') }})
             then members.created_at else members.first_responded_at end,
        'campaign_response',
        members.campaign_id,
        'campaign_type',
        campaigns.campaign_type,
        campaigns.name,
        coalesce(members.has_responded, false),
        members.is_deleted,
        greatest(members._loaded_at, campaigns._loaded_at)
    from {{ ref('stg_salesforce__campaign_members') }} as members
    left join {{ ref('stg_salesforce__campaigns') }} as campaigns using (campaign_id)
    where true
    {%- if incremental %}
      and (members._loaded_at >= {{ since }} or members.campaign_id in (
          select campaign_id from {{ ref('stg_salesforce__campaigns') }} where _loaded_at >= {{ since }}))
    {%- endif %}
),

hubspot_form_submissions as (
    select
        'hubspot_form_submission', 'hubspot', 'form_submissions', submissions.form_submission_id,
        case when submissions.contact_id is not null then {{ record_key('hubspot', 'contacts', 'submissions.contact_id') }} end,
        submissions.email,
        submissions.submitted_at,
        'form_fill',
        form_id,
        'form_name',
        forms.name,
        page_url,
        true,
        submissions.is_deleted,
        greatest(submissions._loaded_at, forms._loaded_at)
    from {{ ref('stg_hubspot__form_submissions') }} as submissions
    left join {{ ref('stg_hubspot__forms') }} as forms using (form_id)
    where true
    {%- if incremental %}
      and (submissions._loaded_at >= {{ since }} or submissions.form_id in (
          select form_id from {{ ref('stg_hubspot__forms') }} where _loaded_at >= {{ since }}))
    {%- endif %}
),

hubspot_email_clicks as (
    select
        'hubspot_email_event', 'hubspot', 'email_events', email_event_id,
        cast(null as {{ engine_type('text') }}),
        recipient_email,
        occurred_at,
        'email_click',
        email_campaign_id,
        cast(null as {{ engine_type('text') }}),
        cast(null as {{ engine_type('text') }}),
        url,
        true,
        is_deleted,
        _loaded_at
    from {{ ref('stg_hubspot__email_events') }}
    where event_type = 'CLICK' {{ loaded_since_last_build() }}
),

touches as (
    select * from marketo_activities
    union all
    select * from campaign_members
    union all
    select * from hubspot_form_submissions
    union all
    select * from hubspot_email_clicks
)

select
    {{ surrogate_key(['source_system', 'source_object', 'source_id']) }} as touchpoint_id,
    touch_source,
    source_system,
    source_object,
    source_id,
    record_key,
    email,
    touched_at,
    touch_type,
    campaign_id,
    channel_field,
    channel_value,
    touch_detail,
    is_marketing_touch,
    is_deleted,
    _loaded_at
from touches
where touched_at is not null
