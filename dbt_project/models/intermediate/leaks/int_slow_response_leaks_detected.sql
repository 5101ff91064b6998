{#-
    One row per handoff whose first sales touch came (or had not come at as-of) after more than
    sla_business_minutes business minutes, unless it is a black hole (docs/warehouse.md).
    Detected when the SLA ran out (fct_handoffs.sla_due_at); owner at handoff; high past the black-hole limit, else medium.
-#}
{%- set black_hole_minutes = var('black_hole_business_days') | int * business_day_minutes() | int -%}
{%- set sla_minutes = var('sla_business_minutes') | int -%}

with handoffs as (
    select * from {{ ref('int_handoffs_described') }}
)

select
    'slow_response' as leak_type,
    person_id,
    handoff_id,
    owner_id,
    sla_due_at as detected_at,
    case when response_business_minutes > {{ black_hole_minutes }} then 'high' else 'medium' end as severity,
    record_word || ' ' || person_label || ' handed to ' || owner_label || ' on ' || {{ readable_instant('handed_off_at') }}
    || case
        when first_sales_touch_at is null
            then ': no sales touch yet after ' || business_minutes_to_as_of || ' business minutes'
        else ': first sales touch by ' || coalesce(first_toucher_label, 'an unknown rep') || ' on '
            || {{ readable_instant('first_sales_touch_at') }} || ', after ' || response_business_minutes
            || ' business minutes'
    end
    || ' (SLA {{ sla_minutes }}).' as detail
from handoffs
where is_sla_breached and not is_black_hole
