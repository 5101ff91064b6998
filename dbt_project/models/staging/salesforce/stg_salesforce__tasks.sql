select
    id                                                          as task_id,
    {{ clean_text(json_text('data', 'WhoId')) }}                        as who_id,
    {{ clean_text(json_text('data', 'WhatId')) }}                       as what_id,
    {{ json_text('data', 'OwnerId') }}                                          as owner_id,
    {{ json_text('data', 'Subject') }}                                          as subject,
    {{ json_text('data', 'TaskSubtype') }}                                      as task_subtype,
    {{ json_text('data', 'Status') }}                                           as status,
    {{ json_date(json_text('data', 'ActivityDate')) }}                  as activity_date,
    {{ json_timestamptz(json_text('data', 'CompletedDateTime')) }}      as completed_at,
    {{ json_timestamptz(json_text('data', 'CreatedDate')) }}            as created_at,
    {{ json_timestamptz(json_text('data', 'SystemModstamp')) }}         as system_modstamp,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'task') }} as raw
