select
    coalesce(data ->> 'id', id)                                 as activity_id,
    data ->> 'leadId'                                           as lead_id,
    {{ json_timestamptz("data ->> 'activityDate'") }}           as deleted_at,
    _loaded_at
from {{ raw_source('marketo', 'deleted_lead') }} as raw
