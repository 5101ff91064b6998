{{ config(indexes=[{'columns': ['local_date'], 'unique': true}, {'columns': ['seconds_through']}]) }}
{#-
    One row per local date of the business calendar (macros/business_time.sql): its working
    window as UTC instants (null on weekends and holidays), the business seconds of all earlier
    days (seconds_before) and through the end of this one (seconds_through). The range is the
    vars business_calendar_start / business_calendar_end (default 2015 to 2040); instants
    outside it count as null. Holidays: the business_holidays seed and the var holiday_dates
    (which Baton fills from holiday_country, baton.build.holidays).
-#}
{%- set timezone = var('business_timezone') -%}
{%- set day_start = var('business_day_start') -%}
{%- set day_end = var('business_day_end') -%}
{%- set weekdays = var('business_weekdays') -%}
{%- set holiday_dates = var('holiday_dates') -%}

with days as (
    select local_date::date as local_date
    from generate_series(
        '{{ var("business_calendar_start") }}'::timestamp,
        '{{ var("business_calendar_end") }}'::timestamp,
        interval '1 day'
    ) as series(local_date)
),

windows as (
    select
        days.local_date,
        case when is_working_day then (days.local_date + time '{{ day_start }}') at time zone '{{ timezone }}' end
            as window_start,
        case when is_working_day then (days.local_date + time '{{ day_end }}') at time zone '{{ timezone }}' end
            as window_end
    from days
    cross join lateral (
        select extract(isodow from days.local_date) in ({{ weekdays | join(', ') }})
               and not exists (select 1 from {{ ref('business_holidays') }} as holidays
                               where holidays.holiday_date = days.local_date)
               {%- if holiday_dates %}
               and days.local_date <> all(
                   array['{{ holiday_dates | join("', '") }}']::date[]
               )
               {%- endif %} as is_working_day
    ) as working
),

measured as (
    select
        windows.*,
        coalesce(extract(epoch from window_end - window_start), 0) as window_seconds
    from windows
)

select
    local_date,
    window_start,
    window_end,
    window_seconds::bigint                                                           as window_seconds,
    (coalesce(sum(window_seconds) over (order by local_date rows between unbounded preceding and 1 preceding), 0))::bigint
                                                                                     as seconds_before,
    (sum(window_seconds) over (order by local_date rows between unbounded preceding and current row))::bigint
                                                                                     as seconds_through
from measured
