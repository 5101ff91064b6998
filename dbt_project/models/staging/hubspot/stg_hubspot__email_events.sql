select
    id                                                          as email_event_id,
    upper({{ json_text('data', 'type') }})                                      as event_type,
    {{ json_epoch_or_iso(json_text('data', 'created')) }}               as occurred_at,
    {{ normalize_email(json_text('data', 'recipient')) }}               as recipient_email,
    {{ json_text('data', 'emailCampaignId') }}                                  as email_campaign_id,
    {{ json_text('data', 'url') }}                                              as url,
    is_deleted,
    _loaded_at
from {{ raw_source('hubspot', 'email_event') }} as raw
