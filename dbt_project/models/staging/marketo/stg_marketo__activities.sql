select
    coalesce({{ json_text('data', 'id') }}, id)                                 as activity_id,
    {{ json_text('data', 'marketoGUID') }}                                      as marketo_guid,
    {{ json_text('data', 'leadId') }}                                           as lead_id,
    {{ json_timestamptz(json_text('data', 'activityDate')) }}           as activity_at,
    {{ json_integer(json_text('data', 'activityTypeId')) }}             as activity_type_id,
    {{ json_text('data', 'campaignId') }}                                       as campaign_id,
    {{ json_text('data', 'primaryAttributeValueId') }}                          as primary_attribute_value_id,
    {{ json_text('data', 'primaryAttributeValue') }}                            as primary_attribute_value,
    {{ json_value('data', ['attributes'], '[]') }}                 as attributes,
    is_deleted,
    _loaded_at
from {{ raw_source('marketo', 'activity') }} as raw
