{#-
    Business time (CONTRACT.md §4): minutes counted only inside working hours of working days,
    by a configurable calendar:
      business_timezone    IANA zone the working day is defined in (default UTC)
      business_day_start   local start of the working day, "HH:MM" (default 09:00)
      business_day_end     local end of the working day, "HH:MM" (default 17:00)
      business_weekdays    ISO weekdays that are working days, 1 = Monday (default 1-5)
      seed business_holidays  local dates that are not working days (empty by default)
    Each local day's window is built from local timestamps converted with AT TIME ZONE, so a
    daylight-saving change moves the window's UTC instants, never its length in local hours.
-#}

{%- macro business_calendar_sql_literals() -%}
    {%- set timezone = var('business_timezone', 'UTC') -%}
    {%- set day_start = var('business_day_start', '09:00') -%}
    {%- set day_end = var('business_day_end', '17:00') -%}
    {%- set weekdays = var('business_weekdays', [1, 2, 3, 4, 5]) -%}
    {{ return({
        'timezone': "'" ~ timezone ~ "'",
        'day_start': "time '" ~ day_start ~ "'",
        'day_end': "time '" ~ day_end ~ "'",
        'weekdays': weekdays | join(', '),
    }) }}
{%- endmacro -%}

{#- Minutes in one full business day (480 by default): the unit of "business days" thresholds. -#}
{%- macro business_day_minutes() -%}
    {%- set day_start = var('business_day_start', '09:00').split(':') -%}
    {%- set day_end = var('business_day_end', '17:00').split(':') -%}
    {{- (day_end[0] | int) * 60 + (day_end[1] | int) - (day_start[0] | int) * 60 - (day_start[1] | int) -}}
{%- endmacro -%}

{#- A relation of the working windows (window_start, window_end as timestamptz) of the local
    days from the local date of `from_expr` on, `day_count` days long (an SQL integer expression). -#}
{%- macro business_windows(from_expr, day_count_expr) -%}
    {%- set calendar = business_calendar_sql_literals() -%}
    (
        select
            (local_days.local_date + {{ calendar.day_start }}) at time zone {{ calendar.timezone }} as window_start,
            (local_days.local_date + {{ calendar.day_end }}) at time zone {{ calendar.timezone }}   as window_end
        from (
            select (({{ from_expr }}) at time zone {{ calendar.timezone }})::date + day_offset as local_date
            from generate_series(0, greatest(({{ day_count_expr }})::integer, 0)) as day_offsets(day_offset)
        ) as local_days
        where extract(isodow from local_days.local_date) in ({{ calendar.weekdays }})
          and not exists (
              select 1 from {{ ref('business_holidays') }} as holidays
              where holidays.holiday_date = local_days.local_date
          )
    )
{%- endmacro -%}

{#- Whole business minutes (rounded down) from `start_expr` to `end_expr`; null when either is
    null, 0 when the end is not after the start. -#}
{%- macro business_minutes_between(start_expr, end_expr) -%}
    {%- set calendar = business_calendar_sql_literals() -%}
    (case
        when ({{ start_expr }}) is null or ({{ end_expr }}) is null then null
        when ({{ end_expr }}) <= ({{ start_expr }}) then 0
        else (
            select coalesce(floor(sum(extract(epoch from
                       least(windows.window_end, ({{ end_expr }})) - greatest(windows.window_start, ({{ start_expr }}))
                   )) / 60), 0)::integer
            from {{ business_windows(start_expr,
                     "(((" ~ end_expr ~ ") at time zone " ~ calendar.timezone ~ ")::date - ((" ~ start_expr ~ ") at time zone " ~ calendar.timezone ~ ")::date)") }} as windows
            where windows.window_end > ({{ start_expr }})
              and windows.window_start < ({{ end_expr }})
        )
    end)
{%- endmacro -%}

{#- The first instant at which `minutes_expr` whole business minutes have passed since
    `start_expr` (e.g. when an SLA ran out); null when the start is null. Looks ahead far
    enough for the weekdays configured plus a month of holidays. -#}
{%- macro business_minutes_add(start_expr, minutes_expr) -%}
    {%- set weekday_count = var('business_weekdays', [1, 2, 3, 4, 5]) | length -%}
    {%- set day_minutes = business_day_minutes() | int -%}
    (case
        when ({{ start_expr }}) is null or ({{ minutes_expr }}) is null then null
        when ({{ minutes_expr }}) <= 0 then ({{ start_expr }})
        else (
            select windows.counted_start
                   + make_interval(secs => ({{ minutes_expr }}) * 60 - (windows.seconds_through - windows.seconds))
            from (
                select
                    greatest(window_start, ({{ start_expr }})) as counted_start,
                    extract(epoch from window_end - greatest(window_start, ({{ start_expr }}))) as seconds,
                    sum(extract(epoch from window_end - greatest(window_start, ({{ start_expr }}))))
                        over (order by window_start) as seconds_through
                from {{ business_windows(start_expr,
                         "ceil((" ~ minutes_expr ~ ")::numeric / " ~ [day_minutes, 1] | max ~ " * 7 / " ~ [weekday_count, 1] | max ~ ") + 40") }} as all_windows
                where window_end > ({{ start_expr }})
            ) as windows
            where windows.seconds_through >= ({{ minutes_expr }}) * 60
            order by windows.counted_start
            limit 1
        )
    end)
{%- endmacro -%}
