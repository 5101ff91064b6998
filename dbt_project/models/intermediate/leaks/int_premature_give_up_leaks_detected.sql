{#-
    One row per handoff closed as disqualified or recycled with a no-response reason after
    fewer than premature_give_up_attempts sales touch attempts (docs/warehouse.md).
    Detected at the outcome; owner at handoff; severity high.
-#}
{%- set give_up_attempts = var('premature_give_up_attempts') | int -%}

with handoffs as (
    select * from {{ ref('int_handoffs_described') }}
)

select
    'premature_give_up' as leak_type,
    person_id,
    handoff_id,
    owner_id,
    outcome_at as detected_at,
    'high' as severity,
    record_word || ' ' || person_label || ' handed to ' || owner_label || ' on ' || {{ readable_instant('handed_off_at') }}
    || ', closed as ' || outcome || ' ("' || outcome_reason || '") on ' || {{ readable_instant('outcome_at') }}
    || ' after ' || sales_touch_attempts || ' sales touch attempt'
    || case when sales_touch_attempts = 1 then '' else 's' end || ' (fewer than {{ give_up_attempts }}).' as detail
from handoffs
where
    outcome in ('no_response', 'disqualified', 'recycled')
    and is_no_response_reason
    and sales_touch_attempts < {{ give_up_attempts }}
