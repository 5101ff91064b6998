{#- A context value is missing when null, empty or one of the context_missing_markers
    (trimmed, case-insensitive; docs/warehouse.md). The one spelling of that rule. -#}
{% macro context_value_is_missing(expr) -%}
    ({{ expr }} is null or lower(trim({{ expr }})) in (
        {%- for marker in var('context_missing_markers') %}'{{ marker | lower }}'{{ ", " if not loop.last }}{% endfor -%}
    ))
{%- endmacro %}

{#- The record's own value when present, else the fallback (a HubSpot contact's company property). -#}
{% macro own_value_else(own_expr, fallback_expr) -%}
    case when {{ context_value_is_missing(own_expr) }} then coalesce({{ fallback_expr }}, {{ own_expr }}) else {{ own_expr }} end
{%- endmacro %}
