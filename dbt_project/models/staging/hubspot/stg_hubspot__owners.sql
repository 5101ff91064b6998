select
    id                                                          as owner_id,
    {{ normalize_email(json_text('data', 'email')) }}                   as email,
    {{ clean_text(json_text('data', 'firstName')) }}                    as first_name,
    {{ clean_text(json_text('data', 'lastName')) }}                     as last_name,
    {{ json_text('data', 'userId') }}                                           as user_id,
    {{ json_value('data', ['teams'], '[]') }}                  as teams,
    {{ hubspot_primary_team_name(json_value('data', ['teams'], '[]')) }} as primary_team_name,
    {{ json_timestamptz(json_text('data', 'createdAt')) }}              as created_at,
    {{ json_timestamptz(json_text('data', 'updatedAt')) }}              as updated_at,
    (is_deleted or coalesce({{ json_boolean(json_text('data', 'archived')) }}, false)) as is_deleted,
    _loaded_at
from {{ raw_source('hubspot', 'owner') }} as raw
