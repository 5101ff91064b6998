{#-
    One row per misrouted handoff (docs/warehouse.md; fct_handoffs.is_misrouted): no owner, a
    queue, an inactive user, or not the expected owner. Detected when it reached the CRM;
    owner at handoff; high without an owner or with an inactive one, else medium.
-#}

with handoffs as (
    select * from {{ ref('int_handoffs_described') }}
)

select
    'misrouted' as leak_type,
    person_id,
    handoff_id,
    owner_id,
    coalesce(crm_reached_at, handed_off_at) as detected_at,
    case when misroute_reason in ('no_owner', 'inactive_owner') then 'high' else 'medium' end as severity,
    record_word || ' ' || person_label || ' handed off on ' || {{ readable_instant('handed_off_at') }} || ' '
    || case misroute_reason
        when 'no_owner' then 'with no owner'
        when 'queue' then 'to the queue ' || owner_label || ', not a rep'
        when 'inactive_owner' then 'to ' || owner_label || ', an inactive user'
        else 'to ' || owner_label
    end
    || case
        when expected_owner_label is not null and coalesce(misroute_reason, '') <> 'not_account_owner'
            then '; the account owner is ' || expected_owner_label
        when expected_owner_label is not null
            then ' instead of '
                || case expected_owner_source when 'routing_rule' then 'the routed owner ' else 'the account owner ' end
                || expected_owner_label
        else ''
    end || '.' as detail
from handoffs
where is_misrouted
