select
    id                                                          as form_id,
    {{ clean_text(json_text('data', 'name')) }}                         as name,
    {{ json_epoch_or_iso(json_text('data', 'createdAt')) }}             as created_at,
    {{ json_epoch_or_iso(json_text('data', 'updatedAt')) }}             as updated_at,
    is_deleted,
    _loaded_at
from {{ raw_source('hubspot', 'form') }} as raw
