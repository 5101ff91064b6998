select
    id                                                          as call_id,
    {{ json_epoch_or_iso(hubspot_property('hs_timestamp')) }}   as occurred_at,
    {{ hubspot_property('hs_call_status') }}                    as status,
    {{ hubspot_property('hs_call_direction') }}                 as direction,
    {{ hubspot_property('hs_call_title') }}                     as title,
    {{ clean_text(hubspot_property('hubspot_owner_id')) }}      as owner_id,
    {{ hubspot_association_ids('contacts') }}                   as contact_ids,
    coalesce({{ json_timestamptz(json_text('data', 'createdAt')) }},
             {{ json_epoch_or_iso(hubspot_property('hs_createdate')) }}) as created_at,
    {{ json_timestamptz(json_text('data', 'updatedAt')) }}              as updated_at,
    (is_deleted or coalesce({{ json_boolean(json_text('data', 'archived')) }}, false)) as is_deleted,
    _loaded_at
from {{ raw_source('hubspot', 'call') }} as raw
