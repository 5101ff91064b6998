{#-
    One row per handoff disqualified or recycled with no reason recorded (docs/warehouse.md).
    Detected at the outcome; owner at handoff; severity low.
-#}

with handoffs as (
    select * from {{ ref('int_handoffs_described') }}
)

select
    'rejected_without_reason' as leak_type,
    person_id,
    handoff_id,
    owner_id,
    outcome_at as detected_at,
    'low' as severity,
    record_word || ' ' || person_label || ' handed to ' || owner_label || ' on ' || {{ readable_instant('handed_off_at') }}
    || ', was ' || outcome || ' on ' || {{ readable_instant('outcome_at') }} || ' with no reason recorded.' as detail
from handoffs
where outcome in ('disqualified', 'recycled') and outcome_reason is null
