-- A leak names a handoff of the same person it is about; a handoff-level leak always names one.
select leaks.leak_id, leaks.leak_type, leaks.person_id, handoffs.person_id as handoff_person_id
from {{ ref('fct_funnel_leaks') }} as leaks
left join {{ ref('fct_handoffs') }} as handoffs using (handoff_id)
where (leaks.handoff_id is not null and handoffs.person_id is distinct from leaks.person_id)
   or (leaks.handoff_id is null and leaks.leak_type in ('black_hole', 'slow_response', 'misrouted', 'premature_give_up',
                                                       'rejected_without_reason', 'context_stripped'))
