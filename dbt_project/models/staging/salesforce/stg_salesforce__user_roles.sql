select
    id                                                          as user_role_id,
    {{ clean_text(json_text('data', 'Name')) }}                         as name,
    {{ clean_text(json_text('data', 'ParentRoleId')) }}                 as parent_role_id,
    {{ json_timestamptz(json_text('data', 'SystemModstamp')) }}         as system_modstamp,
    _loaded_at
from {{ raw_source('salesforce', 'user_role') }} as raw
