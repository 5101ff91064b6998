select
    id                                                          as campaign_member_id,
    data ->> 'CampaignId'                                       as campaign_id,
    {{ clean_text("data ->> 'LeadId'") }}                       as lead_id,
    {{ clean_text("data ->> 'ContactId'") }}                    as contact_id,
    data ->> 'Status'                                           as status,
    coalesce({{ json_boolean("data ->> 'HasResponded'") }}, false) as has_responded,
    {{ json_epoch_or_iso("data ->> 'FirstRespondedDate'") }}    as first_responded_at,
    {{ json_timestamptz("data ->> 'CreatedDate'") }}            as created_at,
    {{ json_timestamptz("data ->> 'SystemModstamp'") }}         as system_modstamp,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'campaign_member') }} as raw
