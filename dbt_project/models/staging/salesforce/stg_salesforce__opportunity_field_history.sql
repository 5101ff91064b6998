select
    id                                                          as opportunity_field_history_id,
    data ->> 'OpportunityId'                                    as opportunity_id,
    data ->> 'Field'                                            as field,
    data ->> 'OldValue'                                         as old_value,
    data ->> 'NewValue'                                         as new_value,
    data ->> 'CreatedById'                                      as created_by_id,
    {{ json_timestamptz("data ->> 'CreatedDate'") }}            as created_at,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'opportunity_field_history') }} as raw
