select
    id                                                          as deal_id,
    {{ clean_text(hubspot_property('dealname')) }}              as name,
    {{ json_numeric(hubspot_property('amount')) }}              as amount,
    {{ hubspot_property('dealstage') }}                         as deal_stage,
    {{ hubspot_property('pipeline') }}                          as pipeline,
    {{ json_epoch_or_iso(hubspot_property('closedate')) }}      as close_at,
    coalesce({{ json_boolean(hubspot_property('hs_is_closed')) }}, false)     as is_closed,
    coalesce({{ json_boolean(hubspot_property('hs_is_closed_won')) }}, false) as is_won,
    {{ clean_text(hubspot_property('hubspot_owner_id')) }}      as owner_id,
    {{ hubspot_association_ids('contacts') }}                   as contact_ids,
    {{ hubspot_association_ids('companies') }}                  as company_ids,
    coalesce({{ json_timestamptz(json_text('data', 'createdAt')) }},
             {{ json_epoch_or_iso(hubspot_property('createdate')) }}) as created_at,
    {{ json_timestamptz(json_text('data', 'updatedAt')) }}              as updated_at,
    (is_deleted or coalesce({{ json_boolean(json_text('data', 'archived')) }}, false)) as is_deleted,
    _loaded_at
from {{ raw_source('hubspot', 'deal') }} as raw
