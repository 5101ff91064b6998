{#-
    One row per handoff that is a black hole (docs/warehouse.md; fct_handoffs.is_black_hole): no
    sales touch at all and more than black_hole_business_days business days to as-of.
    Detected when the limit was reached (int_handoffs_assembled.black_hole_due_at); owner at
    handoff; severity high.
-#}
{%- set day_minutes = business_day_minutes() | int -%}
{%- set black_hole_days = var('black_hole_business_days') | int -%}

with handoffs as (
    select * from {{ ref('int_handoffs_described') }}
)

select
    'black_hole' as leak_type,
    person_id,
    handoff_id,
    owner_id,
    black_hole_due_at as detected_at,
    'high' as severity,
    record_word || ' ' || person_label || ' handed to ' || owner_label || ' on ' || {{ readable_instant('handed_off_at') }}
    || ': no sales touch in ' || cast(floor(business_minutes_to_as_of / {{ day_minutes }}.0) as {{ engine_type('int') }})
    || ' business days (more than {{ black_hole_days }}) as of ' || {{ readable_instant(as_of()) }} || '.' as detail
from handoffs
where is_black_hole
