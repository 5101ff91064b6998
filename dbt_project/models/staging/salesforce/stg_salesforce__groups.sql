select
    id                                                          as group_id,
    {{ clean_text(json_text('data', 'Name')) }}                         as name,
    {{ clean_text(json_text('data', 'DeveloperName')) }}                as developer_name,
    {{ json_text('data', 'Type') }}                                             as group_type,
    {{ json_timestamptz(json_text('data', 'CreatedDate')) }}            as created_at,
    {{ json_timestamptz(json_text('data', 'SystemModstamp')) }}         as system_modstamp,
    _loaded_at
from {{ raw_source('salesforce', 'group') }} as raw
