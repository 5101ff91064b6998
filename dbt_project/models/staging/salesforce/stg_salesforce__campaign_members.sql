select
    id                                                          as campaign_member_id,
    {{ json_text('data', 'CampaignId') }}                                       as campaign_id,
    {{ clean_text(json_text('data', 'LeadId')) }}                       as lead_id,
    {{ clean_text(json_text('data', 'ContactId')) }}                    as contact_id,
    {{ json_text('data', 'Status') }}                                           as status,
    coalesce({{ json_boolean(json_text('data', 'HasResponded')) }}, false) as has_responded,
    {{ json_epoch_or_iso(json_text('data', 'FirstRespondedDate')) }}    as first_responded_at,
    {{ json_timestamptz(json_text('data', 'CreatedDate')) }}            as created_at,
    {{ json_timestamptz(json_text('data', 'SystemModstamp')) }}         as system_modstamp,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'campaign_member') }} as raw
