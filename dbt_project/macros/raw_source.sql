{#- A raw table, or an empty relation of the same shape when its system is disabled
    (var <system>_enabled: false), so every model compiles and builds either way. -#}
{% macro raw_source(system, stream) -%}
    {%- if var(system ~ '_enabled') -%}
        {{ source(system, stream) }}
    {%- else -%}
        (select null::text as id, null::jsonb as data, null::timestamptz as source_updated_at,
                false as is_deleted, null::timestamptz as _loaded_at, null::text as _load_id
         where false)
    {%- endif -%}
{%- endmacro %}
