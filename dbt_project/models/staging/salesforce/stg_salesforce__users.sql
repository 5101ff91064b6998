select
    id                                                          as user_id,
    {{ clean_text("data ->> 'Name'") }}                         as name,
    {{ clean_text("data ->> 'FirstName'") }}                    as first_name,
    {{ clean_text("data ->> 'LastName'") }}                     as last_name,
    {{ normalize_email("data ->> 'Email'") }}                   as email,
    coalesce({{ json_boolean("data ->> 'IsActive'") }}, false)  as is_active,
    {{ clean_text("data ->> 'UserRoleId'") }}                   as user_role_id,
    {{ json_timestamptz("data ->> 'CreatedDate'") }}            as created_at,
    {{ json_timestamptz("data ->> 'SystemModstamp'") }}         as system_modstamp,
    _loaded_at
from {{ raw_source('salesforce', 'user') }} as raw
