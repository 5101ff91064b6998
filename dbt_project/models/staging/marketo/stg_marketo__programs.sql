select
    id                                                          as program_id,
    {{ clean_text(json_text('data', 'name')) }}                         as name,
    {{ clean_text(json_text('data', 'type')) }}                         as program_type,
    {{ clean_text(json_text('data', 'channel')) }}                      as channel,
    {{ clean_text(json_text('data', 'status')) }}                       as status,
    {{ json_timestamptz(json_text('data', 'createdAt')) }}              as created_at,
    {{ json_timestamptz(json_text('data', 'updatedAt')) }}              as updated_at,
    is_deleted,
    _loaded_at
from {{ raw_source('marketo', 'program') }} as raw
