select
    id                                                          as opportunity_contact_role_id,
    {{ json_text('data', 'OpportunityId') }}                                    as opportunity_id,
    {{ json_text('data', 'ContactId') }}                                        as contact_id,
    {{ clean_text(json_text('data', 'Role')) }}                         as role,
    coalesce({{ json_boolean(json_text('data', 'IsPrimary')) }}, false) as is_primary,
    {{ json_timestamptz(json_text('data', 'CreatedDate')) }}            as created_at,
    {{ json_timestamptz(json_text('data', 'SystemModstamp')) }}         as system_modstamp,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'opportunity_contact_role') }} as raw
