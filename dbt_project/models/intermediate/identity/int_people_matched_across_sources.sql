{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='record_key',
          rebuilt_keys_from='int_people_rematched', on_schema_change='sync_all_columns',
          indexes=[{'columns': ['record_key'], 'unique': true}, {'columns': ['person_id']}, {'columns': ['email']}]) }}
-- One row per person source record with the person it belongs to (macros/matching.sql: a person
-- is a connected component of int_person_record_links, person_id a hash of its earliest-created
-- record). Incremental: a build rewrites the records int_people_rematched matched again (the
-- components of the changed records, as they were and as they are).
-- depends_on: {{ ref('int_people_rematched') }}
with matched as (
    {%- if rebuilds_everything() %}
    {{ match_people() }}
    {%- else %}
    select record_key, anchor_record_key, person_id, is_merged from {{ ref('int_people_rematched') }}
    {%- endif %}
)

select
    matched.person_id,
    matched.anchor_record_key,
    record.*,
    matched.is_merged
from matched
inner join {{ ref('int_person_records_unioned') }} as record on matched.record_key = record.record_key
