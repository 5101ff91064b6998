{#- The ids of a HubSpot record's associations of one type, as text[]: accepts the loader's
    flat list (["1", 2]) and the v3 API's {"results": [{"id": ..., "type": ...}]}. -#}
{% macro hubspot_association_ids(association_type) -%}
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

{% macro hubspot_property(name) -%}
    (data -> 'properties' ->> '{{ name }}')
{%- endmacro %}
