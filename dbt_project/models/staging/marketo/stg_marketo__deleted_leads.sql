select
    coalesce({{ json_text('data', 'id') }}, id)                                 as activity_id,
    {{ json_text('data', 'leadId') }}                                           as lead_id,
    {{ json_timestamptz(json_text('data', 'activityDate')) }}           as deleted_at,
    _loaded_at
from {{ raw_source('marketo', 'deleted_lead') }} as raw
