select
    id                                                          as event_id,
    {{ clean_text("data ->> 'WhoId'") }}                        as who_id,
    {{ clean_text("data ->> 'WhatId'") }}                       as what_id,
    data ->> 'OwnerId'                                          as owner_id,
    data ->> 'Subject'                                          as subject,
    {{ json_timestamptz("data ->> 'StartDateTime'") }}          as start_at,
    {{ json_timestamptz("data ->> 'EndDateTime'") }}            as end_at,
    {{ json_timestamptz("data ->> 'CreatedDate'") }}            as created_at,
    {{ json_timestamptz("data ->> 'SystemModstamp'") }}         as system_modstamp,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'event') }} as raw
