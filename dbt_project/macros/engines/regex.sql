{#- Regular expressions. Patterns are written once, as Jinja strings, in the syntax the three engines
    share (POSIX classes avoided; \d, \s, [..], anchors, alternation); the macro spells the literal
    for the engine (Spark's parser reads backslash escapes in string literals, so they are doubled). -#}

{% macro sql_regex_literal(pattern) -%}
    {{- return(adapter.dispatch('sql_regex_literal', 'baton')(pattern)) -}}
{%- endmacro %}
{% macro default__sql_regex_literal(pattern) -%}'{{ pattern | replace("'", "''") }}'{%- endmacro %}
{% macro spark__sql_regex_literal(pattern) -%}'{{ pattern | replace("\\", "\\\\") | replace("'", "\\'") }}'{%- endmacro %}

{#- True when `expr` contains a match of `pattern` (anywhere, unless anchored); null for null. -#}
{% macro regex_matches(expr, pattern, case_insensitive=false) -%}
    {{- return(adapter.dispatch('regex_matches', 'baton')(expr, pattern, case_insensitive)) -}}
{%- endmacro %}
{% macro postgres__regex_matches(expr, pattern, case_insensitive) -%}
    ({{ expr }}) {{ '~*' if case_insensitive else '~' }} {{ sql_regex_literal(pattern) }}
{%- endmacro %}
{% macro duckdb__regex_matches(expr, pattern, case_insensitive) -%}
    regexp_matches({{ expr }}, {{ sql_regex_literal(pattern) }}{{ ", 'i'" if case_insensitive }})
{%- endmacro %}
{% macro spark__regex_matches(expr, pattern, case_insensitive) -%}
    (({{ expr }}) rlike {{ sql_regex_literal(('(?i)' if case_insensitive else '') ~ pattern) }})
{%- endmacro %}

{#- `expr` with every match of `pattern` replaced by `replacement`. -#}
{% macro regex_replace_all(expr, pattern, replacement) -%}
    {{- return(adapter.dispatch('regex_replace_all', 'baton')(expr, pattern, replacement)) -}}
{%- endmacro %}
{% macro default__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ sql_regex_literal(pattern) }}, '{{ replacement }}', 'g')
{%- endmacro %}
{% macro spark__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ sql_regex_literal(pattern) }}, '{{ replacement }}')
{%- endmacro %}

{#- Every match of `pattern` in `expr`, in order, as an array of text (empty for null). -#}
{% macro regex_all_matches(expr, pattern) -%}
    {{- return(adapter.dispatch('regex_all_matches', 'baton')(expr, pattern)) -}}
{%- endmacro %}
{% macro postgres__regex_all_matches(expr, pattern) -%}
    array(select found[1] from regexp_matches({{ expr }}, {{ sql_regex_literal(pattern) }}, 'g') as found)
{%- endmacro %}
{% macro duckdb__regex_all_matches(expr, pattern) -%}
    regexp_extract_all({{ expr }}, {{ sql_regex_literal(pattern) }})
{%- endmacro %}
{% macro spark__regex_all_matches(expr, pattern) -%}
    regexp_extract_all({{ expr }}, {{ sql_regex_literal(pattern) }}, 0)
{%- endmacro %}

{#- `expr` split at every match of `pattern`, as an array of text. -#}
{% macro regex_split(expr, pattern) -%}
    {{- return(adapter.dispatch('regex_split', 'baton')(expr, pattern)) -}}
{%- endmacro %}
{% macro default__regex_split(expr, pattern) -%}
    regexp_split_to_array({{ expr }}, {{ sql_regex_literal(pattern) }})
{%- endmacro %}
{% macro spark__regex_split(expr, pattern) -%}
    split({{ expr }}, {{ sql_regex_literal(pattern) }}, -1)
{%- endmacro %}

{#- True when the text `expr` begins with the text `prefix_expr`. -#}
{% macro text_starts_with(expr, prefix_expr) -%}
    {{- return(adapter.dispatch('text_starts_with', 'baton')(expr, prefix_expr)) -}}
{%- endmacro %}
{% macro default__text_starts_with(expr, prefix_expr) -%}starts_with({{ expr }}, {{ prefix_expr }}){%- endmacro %}
{% macro spark__text_starts_with(expr, prefix_expr) -%}startswith({{ expr }}, {{ prefix_expr }}){%- endmacro %}

{#- Text compared byte by byte (the order of keys such as md5 hex ids): PostgreSQL's "C" collation;
    DuckDB and Spark compare text that way by default. -#}
{% macro bytewise_order(expr) -%}
    {{- return(adapter.dispatch('bytewise_order', 'baton')(expr)) -}}
{%- endmacro %}
{% macro default__bytewise_order(expr) -%}{{ expr }}{%- endmacro %}
{% macro postgres__bytewise_order(expr) -%}{{ expr }} collate "C"{%- endmacro %}
