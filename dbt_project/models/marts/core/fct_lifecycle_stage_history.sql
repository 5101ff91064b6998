{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='append_new_columns',
          indexes=[{'columns': ['person_id']}, {'columns': ['entered_at']}]) }}
-- One row per person × stage spell. Every system's signals for the person's records, in time
-- order (ties: main-path order, then signal id); a signal repeating the stage the person is
-- already in is the same entry seen again (e.g. Marketo's MQL and the CRM lead minutes later),
-- so a spell starts only when the stage changes. The initial value of a record merged away later
-- is ignored: a duplicate created as `New` says nothing about its person. Incremental by person
-- (int_people_changed).
with signals as (
    select
        people.person_id,
        signals.stage,
        signals.signaled_at,
        signals.source_system,
        signals.signal_id,
        stages.stage_order
    from {{ ref('int_lifecycle_stage_signals') }} as signals
    join {{ ref('int_people_matched_across_sources') }} as people using (record_key)
    join {{ ref('lifecycle_stages') }} as stages using (stage)
    where signals.signaled_at <= {{ as_of() }}
      -- A duplicate created later (then merged away) does not send its person back a stage.
      and not (signals.is_initial_value and people.is_merged)
      {{ in_change_set('people.person_id', 'int_people_changed', 'person_id') }}
),

ordered as (
    select
        signals.*,
        lag(stage) over (partition by person_id order by signaled_at, stage_order, signal_id) as previous_stage,
        row_number() over (partition by person_id order by signaled_at, stage_order, signal_id) as signal_number
    from signals
),

numbered as (
    select
        ordered.*,
        sum(case when previous_stage is distinct from stage then 1 else 0 end)
            over (partition by person_id order by signal_number) as spell_number
    from ordered
),

spells as (
    select
        person_id,
        spell_number,
        min(stage) as stage,
        min(signaled_at) as entered_at,
        {{ first_by("source_system", ["signal_number"]) }} as source_system,
        {{ sorted_distinct_array('source_system') }} as seen_in_systems,
        count(*) as signal_count
    from numbered
    group by person_id, spell_number
)

select
    {{ surrogate_key(['person_id', 'stage', instant_key_text('entered_at')]) }} as stage_spell_id,
    person_id,
    stage,
    entered_at,
    lead(entered_at) over (partition by person_id order by spell_number) as exited_at,
    lead(stage) over (partition by person_id order by spell_number) as next_stage,
    source_system,
    {{ array_text_join('seen_in_systems', ',') }} as seen_in_systems,
    cast(spell_number as {{ engine_type('integer') }}) as spell_number,
    cast(signal_count as {{ engine_type('integer') }}) as signal_count,
    lead(entered_at) over (partition by person_id order by spell_number) is null as is_current
from spells
