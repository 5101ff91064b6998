-- A person's spells form one path: exactly one open spell, the last one.
select person_id, count(*) filter (where is_current) as current_spells, max(spell_number) as last_spell,
       max(spell_number) filter (where is_current) as current_spell_number
from {{ ref('fct_lifecycle_stage_history') }}
group by person_id
having count(*) filter (where is_current) <> 1
    or max(spell_number) filter (where is_current) <> max(spell_number)
