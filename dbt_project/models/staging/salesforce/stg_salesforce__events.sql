select
    id                                                          as event_id,
    {{ clean_text(json_text('data', 'WhoId')) }}                        as who_id,
    {{ clean_text(json_text('data', 'WhatId')) }}                       as what_id,
    {{ json_text('data', 'OwnerId') }}                                          as owner_id,
    {{ json_text('data', 'Subject') }}                                          as subject,
    {{ json_timestamptz(json_text('data', 'StartDateTime')) }}          as start_at,
    {{ json_timestamptz(json_text('data', 'EndDateTime')) }}            as end_at,
    {{ json_timestamptz(json_text('data', 'CreatedDate')) }}            as created_at,
    {{ json_timestamptz(json_text('data', 'SystemModstamp')) }}         as system_modstamp,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'event') }} as raw
