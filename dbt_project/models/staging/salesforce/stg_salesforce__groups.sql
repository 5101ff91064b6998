select
    id                                                          as group_id,
    {{ clean_text("data ->> 'Name'") }}                         as name,
    {{ clean_text("data ->> 'DeveloperName'") }}                as developer_name,
    data ->> 'Type'                                             as group_type,
    {{ json_timestamptz("data ->> 'CreatedDate'") }}            as created_at,
    {{ json_timestamptz("data ->> 'SystemModstamp'") }}         as system_modstamp,
    _loaded_at
from {{ raw_source('salesforce', 'group') }} as raw
