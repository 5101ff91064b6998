select
    id                                                          as campaign_id,
    {{ clean_text(json_text('data', 'Name')) }}                         as name,
    {{ clean_text(json_text('data', 'Type')) }}                         as campaign_type,
    {{ clean_text(json_text('data', 'Status')) }}                       as status,
    {{ json_date(json_text('data', 'StartDate')) }}                     as start_date,
    {{ json_date(json_text('data', 'EndDate')) }}                       as end_date,
    coalesce({{ json_boolean(json_text('data', 'IsActive')) }}, false)  as is_active,
    {{ json_timestamptz(json_text('data', 'CreatedDate')) }}            as created_at,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'campaign') }} as raw
