{#- Custom schemas are used verbatim (staging, intermediate, marts), plus BATON_SCHEMA_SUFFIX
    (default empty) so a publish step can build a whole shadow copy (marts_shadow) and swap it in. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set suffix = env_var('BATON_SCHEMA_SUFFIX', '') -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}{{ suffix }}
    {%- else -%}
        {{ custom_schema_name | trim }}{{ suffix }}
    {%- endif -%}
{%- endmacro %}
