select
    coalesce(data ->> 'id', id)                                 as activity_id,
    data ->> 'marketoGUID'                                      as marketo_guid,
    data ->> 'leadId'                                           as lead_id,
    {{ json_timestamptz("data ->> 'activityDate'") }}           as activity_at,
    {{ json_integer("data ->> 'activityTypeId'") }}             as activity_type_id,
    data ->> 'campaignId'                                       as campaign_id,
    data ->> 'primaryAttributeValueId'                          as primary_attribute_value_id,
    data ->> 'primaryAttributeValue'                            as primary_attribute_value,
    coalesce(data -> 'attributes', '[]'::jsonb)                 as attributes,
    is_deleted,
    _loaded_at
from {{ raw_source('marketo', 'activity') }} as raw
