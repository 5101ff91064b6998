-- Consecutive spells of a person never repeat a stage, and each ends where the next begins.
select current_spell.person_id, current_spell.spell_number
from {{ ref('fct_lifecycle_stage_history') }} as current_spell
join {{ ref('fct_lifecycle_stage_history') }} as next_spell
  on next_spell.person_id = current_spell.person_id
 and next_spell.spell_number = current_spell.spell_number + 1
where next_spell.stage = current_spell.stage
   or current_spell.exited_at is distinct from next_spell.entered_at
   or current_spell.next_stage is distinct from next_spell.stage
   or next_spell.entered_at < current_spell.entered_at
