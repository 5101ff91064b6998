select
    id                                                          as opportunity_field_history_id,
    {{ json_text('data', 'OpportunityId') }}                                    as opportunity_id,
    {{ json_text('data', 'Field') }}                                            as field,
    {{ json_text('data', 'OldValue') }}                                         as old_value,
    {{ json_text('data', 'NewValue') }}                                         as new_value,
    {{ json_text('data', 'CreatedById') }}                                      as created_by_id,
    {{ json_timestamptz(json_text('data', 'CreatedDate')) }}            as created_at,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'opportunity_field_history') }} as raw
