select
    {{ json_integer("coalesce(data ->> 'id', id)") }}            as activity_type_id,
    data ->> 'name'                                             as name,
    data ->> 'description'                                      as description,
    data -> 'primaryAttribute' ->> 'name'                       as primary_attribute_name,
    _loaded_at
from {{ raw_source('marketo', 'activity_type') }} as raw
