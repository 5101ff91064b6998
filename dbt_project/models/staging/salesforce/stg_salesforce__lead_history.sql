select
    id                                                          as lead_history_id,
    data ->> 'LeadId'                                           as lead_id,
    data ->> 'Field'                                            as field,
    data ->> 'OldValue'                                         as old_value,
    data ->> 'NewValue'                                         as new_value,
    data ->> 'CreatedById'                                      as created_by_id,
    {{ json_timestamptz("data ->> 'CreatedDate'") }}            as created_at,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'lead_history') }} as raw
