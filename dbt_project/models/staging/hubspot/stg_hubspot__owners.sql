select
    id                                                          as owner_id,
    {{ normalize_email("data ->> 'email'") }}                   as email,
    {{ clean_text("data ->> 'firstName'") }}                    as first_name,
    {{ clean_text("data ->> 'lastName'") }}                     as last_name,
    data ->> 'userId'                                           as user_id,
    coalesce(data -> 'teams', '[]'::jsonb)                      as teams,
    (select team ->> 'name' from jsonb_array_elements(coalesce(data -> 'teams', '[]'::jsonb)) as team
      order by coalesce((team ->> 'primary')::boolean, false) desc, team ->> 'name' limit 1) as primary_team_name,
    {{ json_timestamptz("data ->> 'createdAt'") }}              as created_at,
    {{ json_timestamptz("data ->> 'updatedAt'") }}              as updated_at,
    (is_deleted or coalesce({{ json_boolean("data ->> 'archived'") }}, false)) as is_deleted,
    _loaded_at
from {{ raw_source('hubspot', 'owner') }} as raw
