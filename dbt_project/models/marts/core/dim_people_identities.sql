-- One row per source record that stands for a person (the identity map).
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
