select
    id                                                          as company_id,
    {{ clean_text(hubspot_property('name')) }}                  as name,
    {{ website_domain(hubspot_property('domain')) }}            as domain,
    {{ clean_text(hubspot_property('industry')) }}              as industry,
    {{ json_integer(hubspot_property('numberofemployees')) }}   as employee_count,
    {{ clean_text(hubspot_property('country')) }}               as country,
    {{ clean_text(hubspot_property('hubspot_owner_id')) }}      as owner_id,
    {{ hubspot_property('lifecyclestage') }}                    as lifecycle_stage,
    coalesce({{ json_timestamptz(json_text('data', 'createdAt')) }},
             {{ json_epoch_or_iso(hubspot_property('createdate')) }}) as created_at,
    {{ json_timestamptz(json_text('data', 'updatedAt')) }}              as updated_at,
    (is_deleted or coalesce({{ json_boolean(json_text('data', 'archived')) }}, false)) as is_deleted,
    _loaded_at
from {{ raw_source('hubspot', 'company') }} as raw
