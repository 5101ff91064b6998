{#- Reading raw JSON (PostgreSQL jsonb, DuckDB JSON, Spark a string holding the JSON text). -#}

{#- The text of a field at a path of object keys, null when absent or JSON null:
    json_text('data', 'Email'), json_text('data', 'properties', 'email'). -#}
{% macro json_text(json_expr) -%}
    {{- return(adapter.dispatch('json_text', 'baton')(json_expr, varargs)) -}}
{%- endmacro %}

{% macro default__json_text(json_expr, path) -%}
    ({{ json_expr }}{% for key in path[:-1] %} -> '{{ key }}'{% endfor %} ->> '{{ path[-1] }}')
{%- endmacro %}

{% macro spark__json_text(json_expr, path) -%}
    get_json_object({{ json_expr }}, '$.{{ path | join(".") }}')
{%- endmacro %}

{#- A JSON value at a path (an object or array kept as JSON), or `default` (JSON text) when absent. -#}
{% macro json_value(json_expr, path, default=none) -%}
    {{- return(adapter.dispatch('json_value', 'baton')(json_expr, path, default)) -}}
{%- endmacro %}

{% macro default__json_value(json_expr, path, default) -%}
    {%- set value -%}{{ json_expr }}{% for key in path %} -> '{{ key }}'{% endfor %}{%- endset -%}
    {%- if default is none -%}({{ value }}){%- else -%}coalesce({{ value }}, '{{ default }}'::{{ engine_type('jsonb') }}){%- endif -%}
{%- endmacro %}

{% macro spark__json_value(json_expr, path, default) -%}
    {%- set value -%}get_json_object({{ json_expr }}, '$.{{ path | join(".") }}'){%- endset -%}
    {%- if default is none -%}{{ value }}{%- else -%}coalesce({{ value }}, '{{ default }}'){%- endif -%}
{%- endmacro %}

{#- The `value_field` text of the first element of a JSON array of objects whose `match_field` is one
    of `match_values` (Marketo activity attributes, HubSpot form values); null when none. -#}
{% macro json_array_first_match(array_expr, match_field, match_values, value_field) -%}
    {{- return(adapter.dispatch('json_array_first_match', 'baton')(array_expr, match_field, match_values, value_field)) -}}
{%- endmacro %}

{% macro postgres__json_array_first_match(array_expr, match_field, match_values, value_field) -%}
    (select element ->> '{{ value_field }}' from jsonb_array_elements({{ array_expr }}) as element
      where element ->> '{{ match_field }}' in ('{{ match_values | join("', '") }}') limit 1)
{%- endmacro %}

{% macro duckdb__json_array_first_match(array_expr, match_field, match_values, value_field) -%}
    (list_filter(cast({{ array_expr }} as json[]),
                 lambda element: (element ->> '{{ match_field }}') in ('{{ match_values | join("', '") }}'))[1]
     ->> '{{ value_field }}')
{%- endmacro %}

{% macro spark__json_array_first_match(array_expr, match_field, match_values, value_field) -%}
    try_element_at(filter(from_json({{ array_expr }}, 'array<map<string,string>>'),
                      element -> element['{{ match_field }}'] in ('{{ match_values | join("', '") }}')), 1)['{{ value_field }}']
{%- endmacro %}

{#- The `name` of the primary team in a HubSpot owner's teams (primary first, then by name). -#}
{% macro hubspot_primary_team_name(teams_expr) -%}
    {{- return(adapter.dispatch('hubspot_primary_team_name', 'baton')(teams_expr)) -}}
{%- endmacro %}

{% macro postgres__hubspot_primary_team_name(teams_expr) -%}
    (select team ->> 'name' from jsonb_array_elements({{ teams_expr }}) as team
      order by coalesce((team ->> 'primary')::boolean, false) desc, team ->> 'name' limit 1)
{%- endmacro %}

{% macro duckdb__hubspot_primary_team_name(teams_expr) -%}
    (select team ->> 'name' from (select unnest(cast({{ teams_expr }} as json[])) as team)
      order by coalesce(cast(team ->> 'primary' as boolean), false) desc, team ->> 'name' limit 1)
{%- endmacro %}

{% macro spark__hubspot_primary_team_name(teams_expr) -%}
    try_element_at(array_sort(from_json({{ teams_expr }}, 'array<struct<name:string,primary:boolean>>'),
        (l, r) -> case when coalesce(l.primary, false) <> coalesce(r.primary, false)
                       then case when coalesce(l.primary, false) then -1 else 1 end
                       when l.name = r.name then 0
                       when l.name is null then 1 when r.name is null then -1
                       when l.name < r.name then -1 else 1 end), 1).name
{%- endmacro %}
