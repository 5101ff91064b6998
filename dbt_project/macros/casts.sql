{#- Casts that never fail a run: a value that is not what the vendor documents becomes null
    (the loader already set aside records whose id or cursor was malformed). -#}

{% macro json_timestamptz(expr) -%}
    (case when {{ regex_matches(expr, '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$') }}
          then {{ text_to_instant('(' ~ expr ~ ')') }} end)
{%- endmacro %}

{% macro json_date(expr) -%}
    (case when {{ regex_matches(expr, '^\d{4}-\d{2}-\d{2}$') }} then cast(({{ expr }}) as {{ engine_type('date') }}) end)
{%- endmacro %}

{#- HubSpot writes some instants as epoch milliseconds, others as ISO text; accept both. -#}
{% macro json_epoch_or_iso(expr) -%}
    (case when {{ regex_matches(expr, '^\d{10,16}$') }} then {{ epoch_millis_to_instant('(' ~ expr ~ ')') }}
          else {{ json_timestamptz(expr) }} end)
{%- endmacro %}

{% macro json_numeric(expr) -%}
    (case when {{ regex_matches(expr, '^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$') }} then cast(({{ expr }}) as {{ engine_type('numeric') }}) end)
{%- endmacro %}

{% macro json_integer(expr) -%}
    (case when {{ regex_matches(expr, '^\s*[-+]?\d{1,18}(\.0*)?\s*$') }} then cast({{ truncate_number('cast((' ~ expr ~ ') as ' ~ engine_type('numeric') ~ ')') }} as {{ engine_type('bigint') }}) end)
{%- endmacro %}

{% macro json_boolean(expr) -%}
    (case lower(({{ expr }})) when 'true' then true when 'false' then false end)
{%- endmacro %}

{#- Emails compare lower-cased and trimmed; empty is no email. -#}
{% macro normalize_email(expr) -%}
    nullif(lower(trim({{ expr }})), '')
{%- endmacro %}

{#- The domain of an email or a website (scheme, www. and path stripped). -#}
{% macro email_domain(expr) -%}
    nullif({{ dbt.split_part(normalize_email(expr), "'@'", 2) }}, '')
{%- endmacro %}

{% macro website_domain(expr) -%}
    nullif({{ regex_replace_all(regex_replace_all('lower(trim(' ~ expr ~ '))', '^[a-z]+://', ''), '^www\.|[/:?#].*$', '') }}, '')
{%- endmacro %}

{#- Empty strings are missing values. -#}
{% macro clean_text(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}

{#- Extra raw fields carried into a staging model without editing it (a Fivetran-style
    passthrough var: a list of {name: <vendor field>, alias: <column>}). -#}
{% macro passthrough_columns(var_name) -%}
    {%- for field in var(var_name) -%}
        , {{ json_text('data', field.name) }} as {{ field.alias | default(field.name | lower) }}
    {%- endfor -%}
{%- endmacro %}
