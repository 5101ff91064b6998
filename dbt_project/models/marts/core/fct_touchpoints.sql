{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='append_new_columns',
          indexes=[{'columns': ['person_id']}, {'columns': ['touched_at']}, {'columns': ['campaign_id']}]) }}
-- One row per marketing touch on a known person (docs/warehouse.md), up to as-of. A touch names a
-- source record (Marketo lead, Salesforce lead or contact, HubSpot contact) or only an email
-- (HubSpot email events), which is matched to the person carrying that email; deleted touches,
-- campaign members who never responded and touches on no known person are left out.
-- Incremental by person (int_people_changed): the touches naming a record or an email of theirs.
{%- set incremental = not rebuilds_everything() %}

with touches as (
    select * from {{ ref('int_touchpoints_unioned') }}
    where not is_deleted and is_marketing_touch and touched_at <= {{ as_of() }}
    {%- if incremental %}
      -- the touches naming a record or an email of the people rebuilt
      and (record_key in (
               select changed.record_key from {{ ref('int_people_matched_across_sources') }} as changed
               where true {{ in_change_set('changed.person_id', 'int_people_changed', 'person_id') }})
           or email in (
               select changed.email from {{ ref('int_people_matched_across_sources') }} as changed
               where changed.email is not null {{ in_change_set('changed.person_id', 'int_people_changed', 'person_id') }}))
    {%- endif %}
),

people_by_email as (
    -- Matching puts every record with one email under one person, so this is one row per email.
    select email, person_id
    from (
        select
            email,
            person_id,
            row_number() over (
                partition by email
                order by is_deleted, created_at, record_key
            ) as distinct_on_rank
        from {{ ref('int_people_matched_across_sources') }}
        where email is not null
        {%- if incremental %} and email in (select email from touches){% endif %}
    ) as first_rows
    where distinct_on_rank = 1
),

resolved as (
    select
        touches.*,
        coalesce(by_record.person_id, by_email.person_id) as person_id
    from touches
    left join {{ ref('int_people_matched_across_sources') }} as by_record on by_record.record_key = touches.record_key
    left join people_by_email as by_email on by_email.email = touches.email
),

-- The channel_mapping seed, one row per key (a repeated key must not multiply touches).
source_channels as (
    select source_system, match_field, match_value, channel
    from (
        select
            source_system,
            match_field,
            lower(match_value) as match_value,
            channel,
            row_number() over (
                partition by source_system, match_field, lower(match_value)
                order by channel
            ) as distinct_on_rank
        from {{ ref('channel_mapping') }}
    ) as first_rows
    where distinct_on_rank = 1
),

touch_type_channels as (
    select touch_type, channel
    from (
        select
            match_value as touch_type,
            channel,
            row_number() over (
                partition by match_value
                order by channel
            ) as distinct_on_rank
        from {{ ref('channel_mapping') }}
        where source_system = 'any' and match_field = 'touch_type'
    ) as first_rows
    where distinct_on_rank = 1
)

select
    resolved.touchpoint_id,
    resolved.person_id,
    accounts.account_id,
    resolved.touched_at,
    resolved.touch_type,
    -- The channel_mapping seed: the source's own channel (program channel, campaign type) first,
    -- then the touch type's default.
    coalesce(source_channels.channel, touch_type_channels.channel, 'other') as channel,
    resolved.campaign_id,
    resolved.source_system,
    resolved.source_object,
    resolved.source_id,
    resolved.touch_detail
from resolved
left join {{ ref('int_people_accounts') }} as accounts using (person_id)
left join source_channels
  on source_channels.source_system = resolved.source_system
 and source_channels.match_field = resolved.channel_field
 and source_channels.match_value = lower(resolved.channel_value)
left join touch_type_channels on touch_type_channels.touch_type = resolved.touch_type
where resolved.person_id is not null
    {{ in_change_set('resolved.person_id', 'int_people_changed', 'person_id') }}
