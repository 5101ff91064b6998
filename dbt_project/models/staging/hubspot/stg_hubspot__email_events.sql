select
    id                                                          as email_event_id,
    upper(data ->> 'type')                                      as event_type,
    {{ json_epoch_or_iso("data ->> 'created'") }}               as occurred_at,
    {{ normalize_email("data ->> 'recipient'") }}               as recipient_email,
    data ->> 'emailCampaignId'                                  as email_campaign_id,
    data ->> 'url'                                              as url,
    is_deleted,
    _loaded_at
from {{ raw_source('hubspot', 'email_event') }} as raw
