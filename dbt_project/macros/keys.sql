{#- One spelling for each kind of key, so every model that joins on it builds it the same way. -#}

{#- A source record of a person or account: '<system>:<object>:<id>' (objects as the vendors name them). -#}
{% macro record_key(system, object, id_expr) -%}
    ('{{ system }}:{{ object }}:' || ({{ id_expr }}))
{%- endmacro %}

{% macro owner_key(system_expr, owner_id_expr) -%}
    {{ surrogate_key(["'owner'", system_expr, owner_id_expr]) }}
{%- endmacro %}
