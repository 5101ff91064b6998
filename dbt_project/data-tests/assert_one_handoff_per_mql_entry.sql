-- Every entry into mql is exactly one handoff and every handoff is one (docs/warehouse.md):
-- rows returned are mql spells without a handoff, or handoffs without an mql spell.
with entries as (
    select person_id, entered_at from {{ ref('fct_lifecycle_stage_history') }} where stage = 'mql'
),

handoffs as (
    select person_id, handed_off_at as entered_at from {{ ref('fct_handoffs') }}
)

(select 'mql entry without a handoff' as problem, * from entries
except
select 'mql entry without a handoff', * from handoffs)
union all
(select 'handoff without an mql entry', * from handoffs
except
select 'handoff without an mql entry', * from entries)
