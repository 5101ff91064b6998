{#- The ids of a HubSpot record's associations of one type, as an array of text: accepts the loader's
    flat list (["1", 2]) and the v3 API's {"results": [{"id": ..., "type": ...}]}. -#}
{% macro hubspot_association_ids(association_type) -%}
    {{- return(adapter.dispatch('hubspot_association_ids', 'baton')(association_type)) -}}
{%- endmacro %}

{% macro postgres__hubspot_association_ids(association_type) -%}
    (case jsonb_typeof(data -> 'associations' -> '{{ association_type }}')
        when 'array' then array(
            select coalesce(item ->> 'id', item ->> 'toObjectId', item #>> '{}')
            from jsonb_array_elements(data -> 'associations' -> '{{ association_type }}') as item)
        when 'object' then array(
            select coalesce(item ->> 'id', item ->> 'toObjectId')
            from jsonb_array_elements(data -> 'associations' -> '{{ association_type }}' -> 'results') as item)
        else array[]::text[]
    end)
{%- endmacro %}

{% macro duckdb__hubspot_association_ids(association_type) -%}
    {%- set associations = "data -> 'associations' -> '" ~ association_type ~ "'" -%}
    (case json_type({{ associations }})
        when 'ARRAY' then list_transform(cast({{ associations }} as json[]),
            lambda item: coalesce(item ->> 'id', item ->> 'toObjectId', item ->> '$'))
        when 'OBJECT' then list_transform(coalesce(cast({{ associations }} -> 'results' as json[]), cast([] as json[])),
            lambda item: coalesce(item ->> 'id', item ->> 'toObjectId'))
        else cast([] as varchar[])
    end)
{%- endmacro %}

{% macro spark__hubspot_association_ids(association_type) -%}
    {%- set associations = "get_json_object(data, '$.associations." ~ association_type ~ "')" -%}
    (case
        when ltrim({{ associations }}) like '[%' then transform(from_json({{ associations }}, 'array<string>'),
            item -> coalesce(get_json_object(item, '$.id'), get_json_object(item, '$.toObjectId'), item))
        when ltrim({{ associations }}) like '{{ '{' }}%' then transform(
            coalesce(from_json(get_json_object({{ associations }}, '$.results'), 'array<string>'), cast(array() as array<string>)),
            item -> coalesce(get_json_object(item, '$.id'), get_json_object(item, '$.toObjectId')))
        else cast(array() as array<string>)
    end)
{%- endmacro %}

{% macro hubspot_property(name) -%}
    {{ json_text('data', 'properties', name) }}
{%- endmacro %}
