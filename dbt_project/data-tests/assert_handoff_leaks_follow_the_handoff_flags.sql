-- The handoff-level leaks and fct_handoffs tell one story: a black hole is never also slow, and
-- every black hole, breached SLA and misroute of a handoff is a leak (and no other handoff has one).
with flags as (
    select handoff_id, is_black_hole, is_sla_breached and not is_black_hole as is_slow, is_misrouted
    from {{ ref('fct_handoffs') }}
),

leaks as (
    select handoff_id,
           bool_or(leak_type = 'black_hole') as has_black_hole,
           bool_or(leak_type = 'slow_response') as has_slow,
           bool_or(leak_type = 'misrouted') as has_misrouted
    from {{ ref('fct_funnel_leaks') }}
    where handoff_id is not null
    group by handoff_id
)

select flags.*, leaks.has_black_hole, leaks.has_slow, leaks.has_misrouted
from flags
left join leaks using (handoff_id)
where flags.is_black_hole is distinct from coalesce(leaks.has_black_hole, false)
   or flags.is_slow is distinct from coalesce(leaks.has_slow, false)
   or flags.is_misrouted is distinct from coalesce(leaks.has_misrouted, false)
   or (coalesce(leaks.has_black_hole, false) and coalesce(leaks.has_slow, false))
