-- One row per marketing touch on a known person (CONTRACT.md §4), up to as-of. A touch names a
-- source record (Marketo lead, Salesforce lead or contact, HubSpot contact) or only an email
-- (HubSpot email events), which is matched to the person carrying that email; deleted touches
-- and touches on no known person are left out.
with touches as (
    select * from {{ ref('int_touchpoints_unioned') }}
    where not is_deleted and touched_at <= {{ as_of() }}
),

people_by_email as (
    -- Matching puts every record with one email under one person, so this is one row per email.
    select distinct on (email) email, person_id
    from {{ ref('int_people_matched_across_sources') }}
    where email is not null
    order by email, is_deleted, created_at, record_key
),

resolved as (
    select
        touches.*,
        coalesce(by_record.person_id, by_email.person_id) as person_id
    from touches
    left join {{ ref('int_people_matched_across_sources') }} as by_record on by_record.record_key = touches.record_key
    left join people_by_email as by_email on by_email.email = touches.email
),

channel_map as (
    select * from {{ ref('channel_mapping') }}
)

select
    resolved.touchpoint_id,
    resolved.person_id,
    accounts.account_id,
    resolved.touched_at,
    resolved.touch_type,
    -- The channel_mapping seed: the source's own channel (program channel, campaign type) first,
    -- then the touch type's default.
    coalesce(
        (select channel from channel_map
          where channel_map.source_system = resolved.source_system and channel_map.match_field = resolved.channel_field
            and lower(channel_map.match_value) = lower(resolved.channel_value) limit 1),
        (select channel from channel_map
          where channel_map.source_system = 'any' and channel_map.match_field = 'touch_type'
            and channel_map.match_value = resolved.touch_type limit 1),
        'other') as channel,
    resolved.campaign_id,
    resolved.source_system,
    resolved.source_object,
    resolved.source_id,
    resolved.touch_detail
from resolved
left join {{ ref('int_people_accounts') }} as accounts using (person_id)
where resolved.person_id is not null
