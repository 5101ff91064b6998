select
    id                                                          as opportunity_id,
    {{ clean_text(json_text('data', 'Name')) }}                         as name,
    {{ clean_text(json_text('data', 'AccountId')) }}                    as account_id,
    {{ json_text('data', 'OwnerId') }}                                          as owner_id,
    {{ json_text('data', 'StageName') }}                                        as stage_name,
    {{ json_numeric(json_text('data', 'Amount')) }}                     as amount,
    {{ json_date(json_text('data', 'CloseDate')) }}                     as close_date,
    coalesce({{ json_boolean(json_text('data', 'IsClosed')) }}, false)  as is_closed,
    coalesce({{ json_boolean(json_text('data', 'IsWon')) }}, false)     as is_won,
    {{ clean_text(json_text('data', 'LeadSource')) }}                   as lead_source,
    {{ clean_text(json_text('data', 'CampaignId')) }}                   as campaign_id,
    {{ clean_text(json_text('data', 'Type')) }}                         as opportunity_type,
    {{ json_timestamptz(json_text('data', 'CreatedDate')) }}            as created_at,
    {{ json_timestamptz(json_text('data', 'LastModifiedDate')) }}       as last_modified_at,
    {{ json_timestamptz(json_text('data', 'SystemModstamp')) }}         as system_modstamp,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'opportunity') }} as raw
