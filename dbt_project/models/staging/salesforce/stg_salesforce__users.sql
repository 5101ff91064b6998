select
    id                                                          as user_id,
    {{ clean_text(json_text('data', 'Name')) }}                         as name,
    {{ clean_text(json_text('data', 'FirstName')) }}                    as first_name,
    {{ clean_text(json_text('data', 'LastName')) }}                     as last_name,
    {{ normalize_email(json_text('data', 'Email')) }}                   as email,
    coalesce({{ json_boolean(json_text('data', 'IsActive')) }}, false)  as is_active,
    {{ clean_text(json_text('data', 'UserRoleId')) }}                   as user_role_id,
    {{ json_timestamptz(json_text('data', 'CreatedDate')) }}            as created_at,
    {{ json_timestamptz(json_text('data', 'SystemModstamp')) }}         as system_modstamp,
    _loaded_at
from {{ raw_source('salesforce', 'user') }} as raw
