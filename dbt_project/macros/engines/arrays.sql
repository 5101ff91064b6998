{#- Arrays (PostgreSQL text[], DuckDB lists, Spark arrays) and rows made from them. -#}

{#- The first element of an array (1-based), null when empty. -#}
{% macro array_first(array_expr) -%}
    {{- return(adapter.dispatch('array_first', 'baton')(array_expr)) -}}
{%- endmacro %}
{% macro default__array_first(array_expr) -%}({{ array_expr }})[1]{%- endmacro %}
{% macro spark__array_first(array_expr) -%}try_element_at({{ array_expr }}, 1){%- endmacro %}

{#- A join clause giving one row per element of `array_expr` (a column of the rows before it) as
    `alias.column` (and its 1-based position as `alias.<ordinality>` when asked). `keep_empty`: a row
    whose array is empty or null stays, once, with a null element (a left join). Spark needs it
    right after the table it reads (LATERAL VIEW). -#}
{% macro array_rows(array_expr, alias, column, ordinality=none, keep_empty=false) -%}
    {{- return(adapter.dispatch('array_rows', 'baton')(array_expr, alias, column, ordinality, keep_empty)) -}}
{%- endmacro %}
{% macro default__array_rows(array_expr, alias, column, ordinality, keep_empty) -%}
    {{ 'left join' if keep_empty else 'cross join' }} lateral unnest({{ array_expr }}){{ ' with ordinality' if ordinality }}
        as {{ alias }}({{ column }}{{ ', ' ~ ordinality if ordinality }}){{ ' on true' if keep_empty }}
{%- endmacro %}
{% macro duckdb__array_rows(array_expr, alias, column, ordinality, keep_empty) -%}
    {%- if ordinality -%}
    {{ 'left join' if keep_empty else 'cross join' }} lateral (
        select unnest({{ array_expr }}) as {{ column }}, unnest(generate_series(1, len({{ array_expr }}))) as {{ ordinality }}
    ) as {{ alias }}{{ ' on true' if keep_empty }}
    {%- else -%}
    {{ 'left join' if keep_empty else 'cross join' }} lateral (select unnest({{ array_expr }}) as {{ column }}) as {{ alias }}{{ ' on true' if keep_empty }}
    {%- endif -%}
{%- endmacro %}
{% macro spark__array_rows(array_expr, alias, column, ordinality, keep_empty) -%}
    {%- if ordinality -%}
    lateral view {{ 'outer ' if keep_empty }}posexplode({{ array_expr }}) {{ alias }} as {{ ordinality }}_from_zero, {{ column }}
    {%- else -%}
    lateral view {{ 'outer ' if keep_empty }}explode({{ array_expr }}) {{ alias }} as {{ column }}
    {%- endif -%}
{%- endmacro %}

{#- The 1-based position column of array_rows(..., ordinality=name). -#}
{% macro array_rows_position(alias, ordinality) -%}
    {{- return(adapter.dispatch('array_rows_position', 'baton')(alias, ordinality)) -}}
{%- endmacro %}
{% macro default__array_rows_position(alias, ordinality) -%}{{ alias }}.{{ ordinality }}{%- endmacro %}
{% macro spark__array_rows_position(alias, ordinality) -%}({{ alias }}.{{ ordinality }}_from_zero + 1){%- endmacro %}

{#- The elements of a JSON array (a JSON value of the row), each as JSON, with its 1-based position;
    nothing when the value is not an array. -#}
{% macro json_array_rows(json_expr, alias, column, ordinality) -%}
    {{- return(adapter.dispatch('json_array_rows', 'baton')(json_expr, alias, column, ordinality)) -}}
{%- endmacro %}
{% macro postgres__json_array_rows(json_expr, alias, column, ordinality) -%}
    cross join lateral jsonb_array_elements(
        case jsonb_typeof({{ json_expr }}) when 'array' then {{ json_expr }} else '[]'::jsonb end
    ) with ordinality as {{ alias }}({{ column }}, {{ ordinality }})
{%- endmacro %}
{% macro duckdb__json_array_rows(json_expr, alias, column, ordinality) -%}
    {{ duckdb__array_rows("case when json_type(" ~ json_expr ~ ") = 'ARRAY' then cast(" ~ json_expr ~ " as json[]) else cast([] as json[]) end",
                          alias, column, ordinality, false) }}
{%- endmacro %}
{% macro spark__json_array_rows(json_expr, alias, column, ordinality) -%}
    {{ spark__array_rows("from_json(" ~ json_expr ~ ", 'array<string>')", alias, column, ordinality, false) }}
{%- endmacro %}

{#- True when a JSON value is an array. -#}
{% macro json_is_array(json_expr) -%}
    {{- return(adapter.dispatch('json_is_array', 'baton')(json_expr)) -}}
{%- endmacro %}
{% macro postgres__json_is_array(json_expr) -%}coalesce(jsonb_typeof({{ json_expr }}) = 'array', false){%- endmacro %}
{% macro duckdb__json_is_array(json_expr) -%}coalesce(json_type({{ json_expr }}) = 'ARRAY', false){%- endmacro %}
{% macro spark__json_is_array(json_expr) -%}coalesce(ltrim({{ json_expr }}) like '[%', false){%- endmacro %}

{#- One row per (name, value) pair of `pairs` (a list of [name literal, value expression]) for each row
    before it: an unpivot, as `alias.name_column`, `alias.value_column` (values of one type). -#}
{% macro unpivot_rows(pairs, alias, name_column, value_column) -%}
    {{- return(adapter.dispatch('unpivot_rows', 'baton')(pairs, alias, name_column, value_column)) -}}
{%- endmacro %}
{% macro default__unpivot_rows(pairs, alias, name_column, value_column) -%}
    cross join lateral (
        values
        {%- for name, value in pairs %}
        ('{{ name }}', {{ value }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as {{ alias }} ({{ name_column }}, {{ value_column }})
{%- endmacro %}
{% macro spark__unpivot_rows(pairs, alias, name_column, value_column) -%}
    lateral view stack({{ pairs | length }}{% for name, value in pairs %}, '{{ name }}', {{ value }}{% endfor %})
        {{ alias }} as {{ name_column }}, {{ value_column }}
{%- endmacro %}

{#- An array of text of the expressions' values, nulls left out. -#}
{% macro array_without_nulls(exprs) -%}
    {{- return(adapter.dispatch('array_without_nulls', 'baton')(exprs)) -}}
{%- endmacro %}
{% macro postgres__array_without_nulls(exprs) -%}array_remove(array[{{ exprs | join(', ') }}]::text[], null){%- endmacro %}
{% macro duckdb__array_without_nulls(exprs) -%}list_filter(cast([{{ exprs | join(', ') }}] as varchar[]), lambda element: element is not null){%- endmacro %}
{% macro spark__array_without_nulls(exprs) -%}filter(array({{ exprs | join(', ') }}), element -> element is not null){%- endmacro %}

{#- The elements of an array of text joined by `delimiter` (a literal; null elements skipped). -#}
{% macro array_text_join(array_expr, delimiter) -%}
    {{- return(adapter.dispatch('array_text_join', 'baton')(array_expr, delimiter)) -}}
{%- endmacro %}
{% macro default__array_text_join(array_expr, delimiter) -%}array_to_string({{ array_expr }}, '{{ delimiter }}'){%- endmacro %}
{% macro spark__array_text_join(array_expr, delimiter) -%}array_join({{ array_expr }}, '{{ delimiter }}'){%- endmacro %}
