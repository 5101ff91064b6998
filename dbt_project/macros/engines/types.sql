{#- Engine differences (docs/engines.md): every construct one engine spells its own way is a macro
    here, dispatched by adapter.dispatch('<name>', 'baton') to postgres__/duckdb__/spark__ or
    default__ (the PostgreSQL spelling where DuckDB accepts it too). Models never branch on the
    engine themselves. -#}

{#- The engine's spelling of a PostgreSQL type name (text, timestamptz, numeric(18, 2), text[]...):
    PostgreSQL keeps it as written; DuckDB and Spark carry numbers without a scale as double (their
    `numeric` would silently round to a fixed scale), timestamps with time zone as TIMESTAMPTZ on
    DuckDB and TIMESTAMP (UTC session) on Spark. -#}
{% macro engine_type(name) -%}
    {{- return(adapter.dispatch('engine_type', 'baton')(name | lower | trim)) -}}
{%- endmacro %}

{% macro default__engine_type(name) -%}
    {{- return(name) -}}
{%- endmacro %}

{% macro duckdb__engine_type(name) -%}
    {%- set names = {'text': 'varchar', 'numeric': 'double', 'jsonb': 'json', 'int': 'integer',
                     'timestamp with time zone': 'timestamptz'} -%}
    {%- if name.endswith('[]') -%}
        {{- return(duckdb__engine_type(name[:-2]) ~ '[]') -}}
    {%- endif -%}
    {{- return(names.get(name, name)) -}}
{%- endmacro %}

{% macro spark__engine_type(name) -%}
    {%- set names = {'text': 'string', 'numeric': 'double', 'jsonb': 'string', 'integer': 'int',
                     'timestamptz': 'timestamp', 'timestamp with time zone': 'timestamp',
                     'timestamp': 'timestamp_ntz', 'double precision': 'double'} -%}
    {%- if name.endswith('[]') -%}
        {{- return('array<' ~ spark__engine_type(name[:-2]) ~ '>') -}}
    {%- endif -%}
    {%- if name.startswith('numeric(') -%}
        {{- return('decimal' ~ name[7:]) -}}
    {%- endif -%}
    {{- return(names.get(name, name)) -}}
{%- endmacro %}

{#- A typed null / empty list of text. -#}
{% macro empty_text_array() -%}
    {{- return(adapter.dispatch('empty_text_array', 'baton')()) -}}
{%- endmacro %}
{% macro default__empty_text_array() -%}array[]::text[]{%- endmacro %}
{% macro duckdb__empty_text_array() -%}cast([] as varchar[]){%- endmacro %}
{% macro spark__empty_text_array() -%}cast(array() as array<string>){%- endmacro %}

{#- A number as it reads: PostgreSQL numeric without its trailing fractional zeros (0.9, not 0.900);
    a double (DuckDB, Spark) to 15 significant digits, so sums of decimal shares read as written
    (0.3 + 0.3 + 0.3 is 0.9, not 0.8999999999999999) and a tiny time-decay weight keeps its precision. -#}
{% macro trim_scale(expr) -%}
    {{- return(adapter.dispatch('trim_scale', 'baton')(expr)) -}}
{%- endmacro %}
{% macro postgres__trim_scale(expr) -%}trim_scale({{ expr }}){%- endmacro %}
{% macro duckdb__trim_scale(expr) -%}cast(printf('%.15g', {{ expr }}) as double){%- endmacro %}
{% macro spark__trim_scale(expr) -%}cast(format_string('%.15g', {{ expr }}) as double){%- endmacro %}

{#- A number with its fraction cut off (towards zero). -#}
{% macro truncate_number(expr) -%}
    {{- return(adapter.dispatch('truncate_number', 'baton')(expr)) -}}
{%- endmacro %}
{% macro default__truncate_number(expr) -%}trunc({{ expr }}){%- endmacro %}
{% macro spark__truncate_number(expr) -%}cast({{ expr }} as bigint){%- endmacro %}
