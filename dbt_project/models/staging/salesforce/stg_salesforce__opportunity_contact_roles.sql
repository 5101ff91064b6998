select
    id                                                          as opportunity_contact_role_id,
    data ->> 'OpportunityId'                                    as opportunity_id,
    data ->> 'ContactId'                                        as contact_id,
    {{ clean_text("data ->> 'Role'") }}                         as role,
    coalesce({{ json_boolean("data ->> 'IsPrimary'") }}, false) as is_primary,
    {{ json_timestamptz("data ->> 'CreatedDate'") }}            as created_at,
    {{ json_timestamptz("data ->> 'SystemModstamp'") }}         as system_modstamp,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'opportunity_contact_role') }} as raw
