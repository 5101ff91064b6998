{#- The run's "now" (CONTRACT.md §4 As-of): the `as_of` var, else the instant the run started,
    so every model of one run sees the same instant and a rerun with the same as_of is identical. -#}
{% macro as_of() -%}
    {%- set value = var('as_of', none) -%}
    {%- if value is none or value == '' -%}
        '{{ run_started_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") }}'::timestamptz
    {%- else -%}
        '{{ value }}'::timestamptz
    {%- endif -%}
{%- endmacro %}
