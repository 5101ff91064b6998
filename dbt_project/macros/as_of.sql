{#- The run's "now" (docs/warehouse.md As-of): the `as_of` var, else BATON_AS_OF (how
    baton.transform passes it, so a new instant does not force dbt to re-parse the whole
    project), else the instant the run started. Every model of one run sees the same instant,
    and a rerun with the same as_of gives the same marts. -#}
{% macro as_of() -%}
    {%- set value = var('as_of') or env_var('BATON_AS_OF', '') -%}
    {%- if value is none or value == '' -%}
        {{ text_to_instant("'" ~ run_started_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") ~ "'") }}
    {%- else -%}
        {{ text_to_instant("'" ~ value ~ "'") }}
    {%- endif -%}
{%- endmacro %}
