select
    id                                                          as program_id,
    {{ clean_text("data ->> 'name'") }}                         as name,
    {{ clean_text("data ->> 'type'") }}                         as program_type,
    {{ clean_text("data ->> 'channel'") }}                      as channel,
    {{ clean_text("data ->> 'status'") }}                       as status,
    {{ json_timestamptz("data ->> 'createdAt'") }}              as created_at,
    {{ json_timestamptz("data ->> 'updatedAt'") }}              as updated_at,
    is_deleted,
    _loaded_at
from {{ raw_source('marketo', 'program') }} as raw
