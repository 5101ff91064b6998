select
    id                                                          as task_id,
    {{ clean_text("data ->> 'WhoId'") }}                        as who_id,
    {{ clean_text("data ->> 'WhatId'") }}                       as what_id,
    data ->> 'OwnerId'                                          as owner_id,
    data ->> 'Subject'                                          as subject,
    data ->> 'TaskSubtype'                                      as task_subtype,
    data ->> 'Status'                                           as status,
    {{ json_date("data ->> 'ActivityDate'") }}                  as activity_date,
    {{ json_timestamptz("data ->> 'CompletedDateTime'") }}      as completed_at,
    {{ json_timestamptz("data ->> 'CreatedDate'") }}            as created_at,
    {{ json_timestamptz("data ->> 'SystemModstamp'") }}         as system_modstamp,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'task') }} as raw
