{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='append_new_columns',
          indexes=[{'columns': ['person_id']}]) }}
-- One row per source record that stands for a person (the identity map). Incremental by person
-- (int_people_changed).
select
    people.record_key            as identity_id,
    people.person_id,
    people.source_system,
    people.source_object,
    people.source_id,
    people.email,
    people.is_deleted,
    people.is_merged,
    people.record_key = people.anchor_record_key as is_anchor,
    people.created_at            as source_created_at,
    people.updated_at            as source_updated_at
from {{ ref('int_people_matched_across_sources') }} as people
where true {{ in_change_set('people.person_id', 'int_people_changed', 'person_id') }}
