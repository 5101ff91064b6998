{#- Batch joins when rebuilding everything (hash joins, not nested loops guessed from CTE estimates); no
    JIT compile of the large plan. Incremental by person: a build rebuilds the people of int_people_changed. -#}
{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='sync_all_columns',
          pre_hook="{{ batch_join_settings() }}",
          indexes=[{'columns': ['person_id']}, {'columns': ['handoff_id'], 'unique': true}]) }}
{#-
    One row per handoff (docs/warehouse.md): a person entering mql, i.e. every mql spell of
    fct_lifecycle_stage_history (a re-entry after recycled is a new handoff). handed_off_at is
    the spell's start, the earliest sign in any system. The handoff's window runs to the next
    handoff (or as-of).
    The CRM record of the handoff is the record on which it first reached the CRM: the
    earliest Salesforce lead/contact mql signal in the window, else the earliest HubSpot
    contact one (a person in both works in Salesforce; the HubSpot copy is marketing's).
-#}

with stage_history as (
    select person_id, stage, entered_at
    from {{ ref('fct_lifecycle_stage_history') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

records as (
    select person_id, record_key, source_system, source_object, source_id
    from {{ ref('int_people_matched_across_sources') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

stage_signals as (
    select record_key, stage, signaled_at
    from {{ ref('int_lifecycle_stage_signals') }}
),

mql_spells as (
    select
        person_id,
        entered_at as handed_off_at,
        row_number() over (partition by person_id order by entered_at) as handoff_number,
        lead(entered_at) over (partition by person_id order by entered_at) as next_handoff_at
    from stage_history
    where stage = 'mql'
),

crm_signals as (
    select
        records.person_id,
        stage_signals.record_key,
        records.source_system,
        records.source_object,
        records.source_id,
        stage_signals.signaled_at
    from stage_signals
    inner join records on stage_signals.record_key = records.record_key
    where
        stage_signals.stage = 'mql'
        and records.source_object in ('Lead', 'Contact', 'contacts')
        and stage_signals.signaled_at <= {{ as_of() }}
),

handoff_records as (
    select person_id, handed_off_at, handoff_number, next_handoff_at, crm_record_key, crm_source_system, crm_source_object, crm_source_id, crm_reached_at
    from (
        select
            spells.person_id,
            spells.handed_off_at,
            spells.handoff_number,
            spells.next_handoff_at,
            crm_signals.record_key as crm_record_key,
            crm_signals.source_system as crm_source_system,
            crm_signals.source_object as crm_source_object,
            crm_signals.source_id as crm_source_id,
            crm_signals.signaled_at as crm_reached_at,
            row_number() over (
                partition by spells.person_id, spells.handed_off_at
                order by case crm_signals.source_system when 'salesforce' then 1 else 2 end, crm_signals.signaled_at, crm_signals.record_key
            ) as distinct_on_rank
        from mql_spells as spells
        left join crm_signals
        on
        spells.person_id = crm_signals.person_id
        and spells.handed_off_at <= crm_signals.signaled_at
        and (spells.next_handoff_at is null or crm_signals.signaled_at < spells.next_handoff_at)
    ) as first_rows
    where distinct_on_rank = 1
)

select
    {{ surrogate_key(["'handoff'", 'person_id', instant_key_text('handed_off_at')]) }} as handoff_id,
    person_id,
    cast(handoff_number as {{ engine_type('integer') }}) as handoff_number,
    handed_off_at,
    next_handoff_at,
    crm_record_key,
    crm_source_system,
    crm_source_object,
    crm_source_id,
    crm_reached_at
from handoff_records
