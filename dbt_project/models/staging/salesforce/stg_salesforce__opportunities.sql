select
    id                                                          as opportunity_id,
    {{ clean_text("data ->> 'Name'") }}                         as name,
    {{ clean_text("data ->> 'AccountId'") }}                    as account_id,
    data ->> 'OwnerId'                                          as owner_id,
    data ->> 'StageName'                                        as stage_name,
    {{ json_numeric("data ->> 'Amount'") }}                     as amount,
    {{ json_date("data ->> 'CloseDate'") }}                     as close_date,
    coalesce({{ json_boolean("data ->> 'IsClosed'") }}, false)  as is_closed,
    coalesce({{ json_boolean("data ->> 'IsWon'") }}, false)     as is_won,
    {{ clean_text("data ->> 'LeadSource'") }}                   as lead_source,
    {{ clean_text("data ->> 'CampaignId'") }}                   as campaign_id,
    {{ clean_text("data ->> 'Type'") }}                         as opportunity_type,
    {{ json_timestamptz("data ->> 'CreatedDate'") }}            as created_at,
    {{ json_timestamptz("data ->> 'LastModifiedDate'") }}       as last_modified_at,
    {{ json_timestamptz("data ->> 'SystemModstamp'") }}         as system_modstamp,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'opportunity') }} as raw
