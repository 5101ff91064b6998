{#- Ordered aggregates. `order_by` is a list of sort keys, each "expr", "expr desc", "expr nulls last"
    ... with PostgreSQL's defaults (ascending; nulls last ascending, first descending), and `where`
    an optional filter condition of the aggregate. -#}

{#- The value of `expr` in the first row of the group by `order_by` (null when no row passes `where`). -#}
{% macro first_by(expr, order_by, where=none) -%}
    {{- return(adapter.dispatch('first_by', 'baton')(expr, order_by, where)) -}}
{%- endmacro %}
{% macro default__first_by(expr, order_by, where) -%}
    (array_agg({{ expr }} order by {{ order_by | join(', ') }}){{ ' filter (where ' ~ where ~ ')' if where }})[1]
{%- endmacro %}
{% macro spark__first_by(expr, order_by, where) -%}
    try_element_at({{ spark__sorted_collect(expr, order_by, where) }}, 1).v
{%- endmacro %}

{#- The texts of `expr` (nulls skipped) joined by `delimiter` in the order of `order_by`; null when none. -#}
{% macro ordered_text_agg(expr, delimiter, order_by, where=none) -%}
    {{- return(adapter.dispatch('ordered_text_agg', 'baton')(expr, delimiter, order_by, where)) -}}
{%- endmacro %}
{% macro default__ordered_text_agg(expr, delimiter, order_by, where) -%}
    string_agg({{ expr }}, '{{ delimiter }}' order by {{ order_by | join(', ') }}){{ ' filter (where ' ~ where ~ ')' if where }}
{%- endmacro %}
{% macro spark__ordered_text_agg(expr, delimiter, order_by, where) -%}
    {%- set values = "filter(transform(" ~ spark__sorted_collect(expr, order_by, where) ~ ", e -> e.v), v -> v is not null)" -%}
    case when size({{ values }}) > 0 then array_join({{ values }}, '{{ delimiter }}') end
{%- endmacro %}

{#- Spark: the group's rows as an array of struct(k0.., v) sorted as `order_by` says. -#}
{% macro spark__sorted_collect(expr, order_by, where) -%}
    {%- set keys = [] -%}
    {%- for item in order_by -%}
        {%- set words = item.strip().split(' ') -%}
        {%- set lowered = item.strip().lower() -%}
        {%- set descending = ' desc' in lowered -%}
        {%- set nulls_first = (' nulls first' in lowered) or (descending and ' nulls last' not in lowered) -%}
        {%- set key = namespace(expr=item.strip()) -%}
        {%- for round in range(2) -%}
            {%- for suffix in [' nulls first', ' nulls last', ' desc', ' asc'] -%}
                {%- if key.expr.lower().endswith(suffix) -%}{%- set key.expr = key.expr[:-(suffix | length)].strip() -%}{%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- do keys.append({'expr': key.expr, 'desc': descending, 'nulls_first': nulls_first}) -%}
    {%- endfor -%}
    array_sort(
        collect_list(named_struct({% for key in keys %}'k{{ loop.index0 }}', {{ key.expr }}, {% endfor %}'v', {{ expr }})){{ ' filter (where ' ~ where ~ ')' if where }},
        (l, r) -> case
            {%- for key in keys %}
            {%- set k = 'k' ~ loop.index0 %}
            when l.{{ k }} is null and r.{{ k }} is not null then {{ -1 if key.nulls_first else 1 }}
            when l.{{ k }} is not null and r.{{ k }} is null then {{ 1 if key.nulls_first else -1 }}
            when l.{{ k }} < r.{{ k }} then {{ 1 if key.desc else -1 }}
            when l.{{ k }} > r.{{ k }} then {{ -1 if key.desc else 1 }}
            {%- endfor %}
            else 0 end)
{%- endmacro %}

{#- The median (continuous percentile 0.5) of `expr` over the rows passing `where`. -#}
{% macro median(expr, where=none) -%}
    {{- return(adapter.dispatch('median', 'baton')(expr, where)) -}}
{%- endmacro %}
{% macro default__median(expr, where) -%}
    percentile_cont(0.5) within group (order by {{ expr }}){{ ' filter (where ' ~ where ~ ')' if where }}
{%- endmacro %}
{% macro spark__median(expr, where) -%}
    percentile({{ expr }}, 0.5){{ ' filter (where ' ~ where ~ ')' if where }}
{%- endmacro %}

{#- The distinct values of `expr` in the group, sorted, as an array. -#}
{% macro sorted_distinct_array(expr) -%}
    {{- return(adapter.dispatch('sorted_distinct_array', 'baton')(expr)) -}}
{%- endmacro %}
{% macro default__sorted_distinct_array(expr) -%}array_agg(distinct {{ expr }} order by {{ expr }}){%- endmacro %}
{% macro spark__sorted_distinct_array(expr) -%}array_sort(collect_set({{ expr }})){%- endmacro %}
