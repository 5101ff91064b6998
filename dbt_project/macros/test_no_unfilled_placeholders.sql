{#- A text column with no {placeholder} left (every threshold var was substituted). -#}
{% test no_unfilled_placeholders(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where {{ regex_matches(column_name, '\{[a-z_]+\}') }}
{% endtest %}
