{#- Grain check: no two rows of the model share the same values of these columns (nulls
    compare equal, so a null in a key column is a value like any other). Fails with the
    duplicated combinations. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as rows_with_this_key
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}
