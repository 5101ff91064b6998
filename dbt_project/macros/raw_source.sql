{#- A raw table, or an empty relation of the same shape when its system is disabled
    (var <system>_enabled: false), so every model compiles and builds either way. -#}
{% macro raw_source(system, stream) -%}
    {%- if var(system ~ '_enabled') -%}
        {{ source(system, stream) }}
    {%- else -%}
        (select cast(null as {{ engine_type('text') }}) as id, cast(null as {{ engine_type('jsonb') }}) as data, cast(null as {{ engine_type('timestamptz') }}) as source_updated_at,
                false as is_deleted, cast(null as {{ engine_type('timestamptz') }}) as _loaded_at, cast(null as {{ engine_type('text') }}) as _load_id
         where false)
    {%- endif -%}
{%- endmacro %}
