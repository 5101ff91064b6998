{#-
    Business time (docs/warehouse.md): minutes counted only inside working hours of working days,
    by a configurable calendar:
      business_timezone    IANA zone the working day is defined in (default UTC)
      business_day_start   local start of the working day, "HH:MM" (default 09:00)
      business_day_end     local end of the working day, "HH:MM" (default 17:00)
      business_weekdays    ISO weekdays that are working days, 1 = Monday (default 1-5)
      seed business_holidays  local dates that are not working days (empty by default)
      holiday_dates        more such dates (default none; Baton fills it from holiday_country)
    int_business_calendar holds one row per local date with that day's working window (built
    from local timestamps converted with AT TIME ZONE, so a daylight-saving change moves the
    window's UTC instants, never its length in local hours) and the business seconds of every
    earlier day. Counting is then two indexed look-ups per instant, not a walk over the days.
-#}

{%- macro business_calendar_timezone() -%}
    '{{ var("business_timezone") }}'
{%- endmacro -%}

{#- Minutes in one full business day (480 by default): the unit of "business days" thresholds. -#}
{%- macro business_day_minutes() -%}
    {%- set day_start = var('business_day_start').split(':') -%}
    {%- set day_end = var('business_day_end').split(':') -%}
    {{- (day_end[0] | int) * 60 + (day_end[1] | int) - (day_start[0] | int) * 60 - (day_start[1] | int) -}}
{%- endmacro -%}

{#- Business seconds from the calendar's first day to `instant_expr` (null outside the calendar). A
    look-up of the instant's local day in int_business_calendar (one row per day): PostgreSQL and
    DuckDB as a correlated scalar subquery; Spark wants such a subquery aggregated (max of one row)
    and its aggregate over the calendar's columns alone, so each column is a look-up of its own. -#}
{%- macro business_seconds_at(instant_expr) -%}
    {{- return(adapter.dispatch('business_seconds_at', 'baton')(instant_expr)) -}}
{%- endmacro -%}

{%- macro default__business_seconds_at(instant_expr) -%}
    (select calendar.seconds_before
            + coalesce(greatest(0, {{ seconds_between('calendar.window_start', 'least((' ~ instant_expr ~ '), calendar.window_end)') }}), 0)
     from {{ ref('int_business_calendar') }} as calendar
     where calendar.local_date = {{ local_date('(' ~ instant_expr ~ ')', var('business_timezone')) }})
{%- endmacro -%}

{%- macro spark__business_seconds_at(instant_expr) -%}
    {%- set day -%}
        from {{ ref('int_business_calendar') }} as calendar
        where calendar.local_date = {{ local_date('(' ~ instant_expr ~ ')', var('business_timezone')) }}
    {%- endset -%}
    {%- set window_start = '(select max(calendar.window_start) ' ~ day ~ ')' -%}
    {%- set window_end = '(select max(calendar.window_end) ' ~ day ~ ')' -%}
    ((select max(calendar.seconds_before) {{ day }})
     + coalesce(greatest(0, {{ seconds_between(window_start, 'least((' ~ instant_expr ~ '), ' ~ window_end ~ ')') }}), 0))
{%- endmacro -%}

{#- Whole business minutes (rounded down) from `start_expr` to `end_expr`; null when either is
    null, 0 when the end is not after the start. -#}
{%- macro business_minutes_between(start_expr, end_expr) -%}
    (case
        when ({{ start_expr }}) is null or ({{ end_expr }}) is null then null
        when ({{ end_expr }}) <= ({{ start_expr }}) then 0
        else cast(floor(({{ business_seconds_at(end_expr) }} - {{ business_seconds_at(start_expr) }}) / 60) as {{ engine_type('integer') }})
    end)
{%- endmacro -%}

{#- The first instant at which `minutes_expr` whole business minutes have passed since
    `start_expr` (e.g. when an SLA ran out); null when the start is null: the working day whose
    business seconds reach the target first, and the instant inside its window.
    `start_seconds_expr`, when given, is business_seconds_at(start_expr) already computed (a column
    of an earlier CTE): a model adding to the same start twice looks its day up once, and on Spark,
    which resolves no reference from a subquery nested in a subquery, it must be a column. -#}
{%- macro business_minutes_add(start_expr, minutes_expr, start_seconds_expr=none) -%}
    {%- set target = '(' ~ (start_seconds_expr or business_seconds_at(start_expr)) ~ ') + (' ~ minutes_expr ~ ') * 60' -%}
    (case
        when ({{ start_expr }}) is null or ({{ minutes_expr }}) is null then null
        when ({{ minutes_expr }}) <= 0 then ({{ start_expr }})
        else {{ business_instant_reaching(target) }}
    end)
{%- endmacro -%}

{#- The instant at which the business clock reaches `seconds_expr` (business seconds from the
    calendar's first day): the earliest working day whose seconds_through reach it, and the instant
    inside its window. -#}
{%- macro business_instant_reaching(seconds_expr) -%}
    {{- return(adapter.dispatch('business_instant_reaching', 'baton')(seconds_expr)) -}}
{%- endmacro -%}

{%- macro default__business_instant_reaching(seconds_expr) -%}
    (
        select {{ add_seconds('calendar.window_start', seconds_expr ~ ' - calendar.seconds_before') }}
        from {{ ref('int_business_calendar') }} as calendar
        where calendar.seconds_through >= {{ seconds_expr }}
          and calendar.window_start is not null
        order by calendar.seconds_through
        limit 1
    )
{%- endmacro -%}

{#- Spark: no ORDER BY / LIMIT in a correlated subquery, and no aggregate over both the outer row and
    the calendar: the earliest working day reaching the target (min_by on seconds_through) gives its
    window start and its seconds before, each in a subquery of its own. -#}
{%- macro spark__business_instant_reaching(seconds_expr) -%}
    {%- set reaching -%}
        from {{ ref('int_business_calendar') }} as calendar
        where calendar.seconds_through >= {{ seconds_expr }} and calendar.window_start is not null
    {%- endset -%}
    {{ add_seconds('(select min_by(calendar.window_start, calendar.seconds_through) ' ~ reaching ~ ')',
                   seconds_expr ~ ' - (select min_by(calendar.seconds_before, calendar.seconds_through) ' ~ reaching ~ ')') }}
{%- endmacro -%}

{#- An instant as a person reads it in a leak's detail: "2026-06-03 14:02 UTC" (in business_timezone). -#}
{%- macro readable_instant(expr) -%}
    {%- set timezone = var('business_timezone') -%}
    coalesce({{ format_minute(expr, timezone) }} || ' {{ timezone }}', 'an unknown time')
{%- endmacro -%}
