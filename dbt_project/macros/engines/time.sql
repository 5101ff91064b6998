{#- Instants (PostgreSQL and DuckDB timestamptz, Spark TIMESTAMP in a UTC session). -#}

{#- An instant from ISO-8601 text ('2026-05-01T09:00:00Z', '...+0200', '2026-05-01'). -#}
{% macro text_to_instant(text_expr) -%}
    {{- return(adapter.dispatch('text_to_instant', 'baton')(text_expr)) -}}
{%- endmacro %}
{% macro default__text_to_instant(text_expr) -%}cast({{ text_expr }} as timestamptz){%- endmacro %}
{% macro spark__text_to_instant(text_expr) -%}
    {#- Spark reads zone offsets as +hh:mm; Salesforce writes +hhmm. -#}
    cast(regexp_replace({{ text_expr }}, '([+-][0-9][0-9])([0-9][0-9])$', '$1:$2') as timestamp)
{%- endmacro %}

{#- An instant from epoch milliseconds (text of digits). -#}
{% macro epoch_millis_to_instant(text_expr) -%}
    {{- return(adapter.dispatch('epoch_millis_to_instant', 'baton')(text_expr)) -}}
{%- endmacro %}
{% macro postgres__epoch_millis_to_instant(text_expr) -%}to_timestamp(cast({{ text_expr }} as numeric) / 1000.0){%- endmacro %}
{% macro duckdb__epoch_millis_to_instant(text_expr) -%}make_timestamptz(cast({{ text_expr }} as bigint) * 1000){%- endmacro %}
{% macro spark__epoch_millis_to_instant(text_expr) -%}timestamp_micros(cast({{ text_expr }} as bigint) * 1000){%- endmacro %}

{#- Seconds (with fraction) from instant `start_expr` to instant `end_expr`. -#}
{% macro seconds_between(start_expr, end_expr) -%}
    {{- return(adapter.dispatch('seconds_between', 'baton')(start_expr, end_expr)) -}}
{%- endmacro %}
{% macro postgres__seconds_between(start_expr, end_expr) -%}extract(epoch from ({{ end_expr }}) - ({{ start_expr }})){%- endmacro %}
{% macro duckdb__seconds_between(start_expr, end_expr) -%}((epoch_us({{ end_expr }}) - epoch_us({{ start_expr }})) / 1000000.0){%- endmacro %}
{% macro spark__seconds_between(start_expr, end_expr) -%}((unix_micros({{ end_expr }}) - unix_micros({{ start_expr }})) / 1000000.0){%- endmacro %}

{#- An instant moved by a number of seconds (an expression; fractions kept to the microsecond). -#}
{% macro add_seconds(instant_expr, seconds_expr) -%}
    {{- return(adapter.dispatch('add_seconds', 'baton')(instant_expr, seconds_expr)) -}}
{%- endmacro %}
{% macro postgres__add_seconds(instant_expr, seconds_expr) -%}(({{ instant_expr }}) + make_interval(secs => {{ seconds_expr }})){%- endmacro %}
{% macro duckdb__add_seconds(instant_expr, seconds_expr) -%}(({{ instant_expr }}) + to_microseconds(cast(round(({{ seconds_expr }}) * 1000000) as bigint))){%- endmacro %}
{% macro spark__add_seconds(instant_expr, seconds_expr) -%}timestamp_micros(unix_micros({{ instant_expr }}) + cast(round(({{ seconds_expr }}) * 1000000) as bigint)){%- endmacro %}

{#- An instant moved by whole days / minutes (a literal or an integer expression). -#}
{% macro add_days(instant_expr, days) -%}
    {{- return(adapter.dispatch('add_days', 'baton')(instant_expr, days)) -}}
{%- endmacro %}
{% macro postgres__add_days(instant_expr, days) -%}(({{ instant_expr }}) + interval '{{ days }} days'){%- endmacro %}
{% macro default__add_days(instant_expr, days) -%}(({{ instant_expr }}) + interval ({{ days }}) day){%- endmacro %}
{% macro spark__add_days(instant_expr, days) -%}(({{ instant_expr }}) + make_dt_interval({{ days }}, 0, 0, 0)){%- endmacro %}

{% macro add_minutes(instant_expr, minutes) -%}
    {{- return(adapter.dispatch('add_minutes', 'baton')(instant_expr, minutes)) -}}
{%- endmacro %}
{% macro postgres__add_minutes(instant_expr, minutes) -%}(({{ instant_expr }}) + interval '{{ minutes }} minutes'){%- endmacro %}
{% macro default__add_minutes(instant_expr, minutes) -%}(({{ instant_expr }}) + interval ({{ minutes }}) minute){%- endmacro %}
{% macro spark__add_minutes(instant_expr, minutes) -%}(({{ instant_expr }}) + make_dt_interval(0, 0, {{ minutes }}, 0)){%- endmacro %}

{#- The local date, in IANA zone `timezone` (a literal), of an instant. -#}
{% macro local_date(instant_expr, timezone) -%}
    {{- return(adapter.dispatch('local_date', 'baton')(instant_expr, timezone)) -}}
{%- endmacro %}
{% macro default__local_date(instant_expr, timezone) -%}cast(({{ instant_expr }}) at time zone '{{ timezone }}' as date){%- endmacro %}
{% macro spark__local_date(instant_expr, timezone) -%}to_date(from_utc_timestamp({{ instant_expr }}, '{{ timezone }}')){%- endmacro %}

{#- The first day of the month (in UTC) of an instant, as a date. -#}
{% macro utc_month(instant_expr) -%}
    {{- return(adapter.dispatch('utc_month', 'baton')(instant_expr)) -}}
{%- endmacro %}
{% macro default__utc_month(instant_expr) -%}cast(date_trunc('month', ({{ instant_expr }}) at time zone 'UTC') as date){%- endmacro %}
{% macro spark__utc_month(instant_expr) -%}trunc(to_date({{ instant_expr }}), 'MM'){%- endmacro %}

{#- The instant of a local date and wall-clock time "HH:MM" in IANA zone `timezone` (literals but the date). -#}
{% macro local_time_to_instant(date_expr, time_text, timezone) -%}
    {{- return(adapter.dispatch('local_time_to_instant', 'baton')(date_expr, time_text, timezone)) -}}
{%- endmacro %}
{% macro default__local_time_to_instant(date_expr, time_text, timezone) -%}
    (({{ date_expr }}) + time '{{ time_text }}') at time zone '{{ timezone }}'
{%- endmacro %}
{% macro spark__local_time_to_instant(date_expr, time_text, timezone) -%}
    to_utc_timestamp(cast(concat(cast({{ date_expr }} as string), ' {{ time_text }}:00') as timestamp), '{{ timezone }}')
{%- endmacro %}

{#- ISO day of week of a date (1 = Monday). -#}
{% macro iso_weekday(date_expr) -%}
    {{- return(adapter.dispatch('iso_weekday', 'baton')(date_expr)) -}}
{%- endmacro %}
{% macro default__iso_weekday(date_expr) -%}extract(isodow from {{ date_expr }}){%- endmacro %}
{% macro spark__iso_weekday(date_expr) -%}(weekday({{ date_expr }}) + 1){%- endmacro %}

{#- One row per date from `start_text` to `end_text` (ISO dates), as column `local_date`. -#}
{% macro date_rows(start_text, end_text) -%}
    {{- return(adapter.dispatch('date_rows', 'baton')(start_text, end_text)) -}}
{%- endmacro %}
{% macro postgres__date_rows(start_text, end_text) -%}
    select cast(series.local_date as date) as local_date
    from generate_series('{{ start_text }}'::timestamp, '{{ end_text }}'::timestamp, interval '1 day') as series(local_date)
{%- endmacro %}
{% macro duckdb__date_rows(start_text, end_text) -%}
    select cast(series.local_date as date) as local_date
    from generate_series(timestamp '{{ start_text }}', timestamp '{{ end_text }}', interval 1 day) as series(local_date)
{%- endmacro %}
{% macro spark__date_rows(start_text, end_text) -%}
    select explode(sequence(date'{{ start_text }}', date'{{ end_text }}', interval 1 day)) as local_date
{%- endmacro %}

{#- An instant as a person reads it: 'YYYY-MM-DD HH24:MI' in IANA zone `timezone`. -#}
{% macro format_minute(instant_expr, timezone) -%}
    {{- return(adapter.dispatch('format_minute', 'baton')(instant_expr, timezone)) -}}
{%- endmacro %}
{% macro postgres__format_minute(instant_expr, timezone) -%}to_char(({{ instant_expr }}) at time zone '{{ timezone }}', 'YYYY-MM-DD HH24:MI'){%- endmacro %}
{% macro duckdb__format_minute(instant_expr, timezone) -%}strftime(({{ instant_expr }}) at time zone '{{ timezone }}', '%Y-%m-%d %H:%M'){%- endmacro %}
{% macro spark__format_minute(instant_expr, timezone) -%}date_format(from_utc_timestamp({{ instant_expr }}, '{{ timezone }}'), 'yyyy-MM-dd HH:mm'){%- endmacro %}

{#- An instant as text the way PostgreSQL prints a timestamptz in UTC ('2026-05-01 09:00:00+00',
    fraction only when not zero): the text surrogate keys hash, equal on every engine. -#}
{% macro instant_key_text(instant_expr) -%}
    {{- return(adapter.dispatch('instant_key_text', 'baton')(instant_expr)) -}}
{%- endmacro %}
{% macro postgres__instant_key_text(instant_expr) -%}cast({{ instant_expr }} as text){%- endmacro %}
{% macro duckdb__instant_key_text(instant_expr) -%}
    (strftime(({{ instant_expr }}) at time zone 'UTC', '%Y-%m-%d %H:%M:%S')
     || case when microsecond({{ instant_expr }}) % 1000000 = 0 then ''
             else rtrim('.' || lpad(cast(microsecond({{ instant_expr }}) % 1000000 as varchar), 6, '0'), '0') end
     || '+00')
{%- endmacro %}
{% macro spark__instant_key_text(instant_expr) -%}
    (date_format({{ instant_expr }}, 'yyyy-MM-dd HH:mm:ss')
     || case when unix_micros({{ instant_expr }}) % 1000000 = 0 then ''
             else trim(trailing '0' from '.' || lpad(cast(pmod(unix_micros({{ instant_expr }}), 1000000) as string), 6, '0')) end
     || '+00')
{%- endmacro %}

{#- The instants after everything / before everything (PostgreSQL's infinity), as sentinels. -#}
{% macro instant_infinity(negative=false) -%}
    {{- return(adapter.dispatch('instant_infinity', 'baton')(negative)) -}}
{%- endmacro %}
{% macro default__instant_infinity(negative) -%}cast('{{ "-" if negative }}infinity' as timestamptz){%- endmacro %}
{% macro spark__instant_infinity(negative) -%}timestamp'{{ "0001-01-01 00:00:00" if negative else "9999-12-31 23:59:59.999999" }}'{%- endmacro %}
