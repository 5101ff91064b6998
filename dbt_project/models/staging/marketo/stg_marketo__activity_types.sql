select
    {{ json_integer("coalesce(" ~ json_text('data', 'id') ~ ", id)") }}            as activity_type_id,
    {{ json_text('data', 'name') }}                                             as name,
    {{ json_text('data', 'description') }}                                      as description,
    {{ json_text('data', 'primaryAttribute', 'name') }}                       as primary_attribute_name,
    _loaded_at
from {{ raw_source('marketo', 'activity_type') }} as raw
