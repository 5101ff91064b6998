select
    id                                                          as campaign_id,
    {{ clean_text("data ->> 'Name'") }}                         as name,
    {{ clean_text("data ->> 'Type'") }}                         as campaign_type,
    {{ clean_text("data ->> 'Status'") }}                       as status,
    {{ json_date("data ->> 'StartDate'") }}                     as start_date,
    {{ json_date("data ->> 'EndDate'") }}                       as end_date,
    coalesce({{ json_boolean("data ->> 'IsActive'") }}, false)  as is_active,
    {{ json_timestamptz("data ->> 'CreatedDate'") }}            as created_at,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'campaign') }} as raw
