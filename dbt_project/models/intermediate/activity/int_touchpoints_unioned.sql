{{ config(materialized='incremental', unique_key='touchpoint_id', incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns') }}
-- One row per marketing touch (CONTRACT.md §4) as the source recorded it, before it is tied
-- to a person: Marketo form fills, email clicks, web visits and program attendance,
-- Salesforce campaign responses, HubSpot form submissions and marketing email clicks.
-- Incremental per source part: a run reads only what the last loads wrote (or rewrote).
with marketo_activities as (
    select
        'marketo_activity' as touch_source,
        'marketo' as source_system, 'activity' as source_object, activity_id as source_id,
        {{ record_key('marketo', 'lead', 'lead_id') }} as record_key,
        null::text as email,
        activity_at as touched_at,
        case activity_type_id
            when 2 then 'form_fill'
            when 11 then 'email_click'
            when 1 then 'web_visit'
            when 104 then case when primary_attribute_value ilike '%webinar%' then 'webinar' else 'event_attendance' end
        end as touch_type,
        case when activity_type_id = 104 then primary_attribute_value_id else campaign_id end as campaign_id,
        primary_attribute_value as touch_detail,
        is_deleted,
        _loaded_at
    from {{ ref('int_marketo_activities_parsed') }}
    where (activity_type_id in (1, 2, 11)
           or (activity_type_id = 104 and new_value ilike 'attended%'))
    {{ incremental_since_last_load('touch_source', 'marketo_activity') }}
),

campaign_members as (
    select
        'salesforce_campaign_member', 'salesforce', 'CampaignMember', members.campaign_member_id,
        case when members.contact_id is not null
             then {{ record_key('salesforce', 'Contact', 'members.contact_id') }}
             else {{ record_key('salesforce', 'Lead', 'members.lead_id') }} end,
        null::text,
        coalesce(members.first_responded_at, members.created_at),
        case
            when campaigns.campaign_type ilike '%webinar%' then 'webinar'
            when campaigns.campaign_type ilike any (array['%event%', '%conference%', '%trade show%', '%seminar%']) then 'event_attendance'
            when campaigns.campaign_type ilike any (array['%content%', '%download%', '%ebook%', '%whitepaper%']) then 'content_download'
            else 'campaign_response'
        end,
        members.campaign_id,
        campaigns.name,
        members.is_deleted,
        members._loaded_at
    from {{ ref('stg_salesforce__campaign_members') }} as members
    left join {{ ref('stg_salesforce__campaigns') }} as campaigns using (campaign_id)
    where members.has_responded
    {{ incremental_since_last_load('touch_source', 'salesforce_campaign_member', 'members._loaded_at') }}
),

hubspot_form_submissions as (
    select
        'hubspot_form_submission', 'hubspot', 'form_submissions', form_submission_id,
        case when contact_id is not null then {{ record_key('hubspot', 'contacts', 'contact_id') }} end,
        email,
        submitted_at,
        'form_fill',
        form_id,
        page_url,
        is_deleted,
        _loaded_at
    from {{ ref('stg_hubspot__form_submissions') }}
    where true
    {{ incremental_since_last_load('touch_source', 'hubspot_form_submission') }}
),

hubspot_email_clicks as (
    select
        'hubspot_email_event', 'hubspot', 'email_events', email_event_id,
        null::text,
        recipient_email,
        occurred_at,
        'email_click',
        email_campaign_id,
        url,
        is_deleted,
        _loaded_at
    from {{ ref('stg_hubspot__email_events') }}
    where event_type = 'CLICK'
    {{ incremental_since_last_load('touch_source', 'hubspot_email_event') }}
),

touches as (
    select * from marketo_activities
    union all select * from campaign_members
    union all select * from hubspot_form_submissions
    union all select * from hubspot_email_clicks
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
    case touch_type
        when 'email_click' then 'email'
        when 'web_visit' then 'web'
        when 'form_fill' then 'web'
        when 'webinar' then 'webinar'
        when 'event_attendance' then 'event'
        when 'content_download' then 'content'
        else 'campaign'
    end as channel,
    campaign_id,
    touch_detail,
    is_deleted,
    _loaded_at
from touches
where touched_at is not null
