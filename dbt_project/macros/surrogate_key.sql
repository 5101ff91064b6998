{#- A stable text key: md5 over the parts, nulls as a marker so (null, 'a') != ('', 'a'). -#}
{% macro surrogate_key(parts) -%}
    md5(concat_ws('|'
    {%- for part in parts -%}
        , coalesce(cast({{ part }} as {{ engine_type('text') }}), '_null_')
    {%- endfor -%}
    ))
{%- endmacro %}
