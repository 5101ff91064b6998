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
    {{ date_rows(var("business_calendar_start"), var("business_calendar_end")) }}
),

holidays as (
    select distinct holiday_date from {{ ref('business_holidays') }}
),

working as (
    select
        days.local_date,
        ({{ iso_weekday('days.local_date') }} in ({{ weekdays | join(', ') }})
         and holidays.holiday_date is null
         {%- if holiday_dates %}
         and days.local_date not in ({% for day in holiday_dates %}cast('{{ day }}' as date){{ ", " if not loop.last }}{% endfor %})
         {%- endif %}) as is_working_day
    from days
    left join holidays on holidays.holiday_date = days.local_date
),

windows as (
    select
        local_date,
        case when is_working_day then {{ local_time_to_instant('local_date', day_start, timezone) }} end
            as window_start,
        case when is_working_day then {{ local_time_to_instant('local_date', day_end, timezone) }} end
            as window_end
    from working
),

measured as (
    select
        windows.*,
        coalesce({{ seconds_between('window_start', 'window_end') }}, 0) as window_seconds
    from windows
)

select
    local_date,
    window_start,
    window_end,
    cast(window_seconds as {{ engine_type('bigint') }})                                 as window_seconds,
    cast((coalesce(sum(window_seconds) over (order by local_date rows between unbounded preceding and 1 preceding), 0)) as {{ engine_type('bigint') }})
                                                                                     as seconds_before,
    cast((sum(window_seconds) over (order by local_date rows between unbounded preceding and current row)) as {{ engine_type('bigint') }})
                                                                                     as seconds_through
from measured
