{#-
    One row per handoff whose CRM record lacks a required context field at as-of (docs/warehouse.md
    §5-6): the handoffs with is_missing rows in int_handoff_context_checks, the same rows the
    quality gate copies into quality.lead_context_flags. Detected at as-of; owner at handoff;
    medium when the behavioural summary or the email is missing, else low.
-#}

with context_checks as (
    select handoff_id, field_name, field_group, is_missing
    from {{ ref('int_handoff_context_checks') }}
),

handoffs as (
    select * from {{ ref('int_handoffs_described') }}
),

missing_fields as (
    select
        handoff_id,
        {{ ordered_text_agg("field_name", ', ', ["field_name"]) }} as missing_context_fields,
        bool_or(field_group = 'behavioural' or field_name = 'email') as lacks_behaviour_or_email
    from context_checks
    where is_missing
    group by handoff_id
)

select
    'context_stripped' as leak_type,
    handoffs.person_id,
    handoffs.handoff_id,
    handoffs.owner_id,
    {{ as_of() }} as detected_at,
    case when missing_fields.lacks_behaviour_or_email then 'medium' else 'low' end as severity,
    handoffs.record_word || ' ' || handoffs.person_label || ' handed to ' || handoffs.owner_label || ' on '
    || {{ readable_instant('handoffs.handed_off_at') }}
    || ' lacks ' || missing_fields.missing_context_fields || ' on its ' || handoffs.crm_source_system || ' record '
    || handoffs.crm_source_id || ' (as of ' || {{ readable_instant(as_of()) }} || ').' as detail
from missing_fields
inner join handoffs on missing_fields.handoff_id = handoffs.handoff_id
