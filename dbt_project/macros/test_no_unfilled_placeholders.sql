{#- A text column with no {placeholder} left (every threshold var was substituted). -#}
{% test no_unfilled_placeholders(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} ~ '\{[a-z_]+\}'
{% endtest %}
