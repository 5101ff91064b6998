-- One row per person source record with the person it belongs to. Records are the nodes of
-- a graph whose edges are int_person_record_links (emails are nodes too); a person is a
-- connected component. person_id is a hash of the component's anchor, its earliest-created
-- record, so it survives reruns and later records joining the person.
with recursive records as (
    select record_key, created_at from {{ ref('int_person_records_unioned') }}
),

edges as (
    select from_key, to_key from {{ ref('int_person_record_links') }}
    union
    select to_key, from_key from {{ ref('int_person_record_links') }}
),

reachable (record_key, reached_key) as (
    select record_key, record_key from records  -- noqa: AL08
    union
    select reachable.record_key, edges.to_key
    from reachable
    join edges on edges.from_key = reachable.reached_key
),

anchors as (
    select distinct on (reachable.record_key)
        reachable.record_key,
        reachable.reached_key as anchor_record_key
    from reachable
    join records as reached on reached.record_key = reachable.reached_key
    order by reachable.record_key, reached.created_at nulls last, reachable.reached_key
),

merge_losers as (
    select from_key as record_key from {{ ref('int_person_record_links') }} where link_type = 'salesforce_merge'
    union
    select to_key from {{ ref('int_person_record_links') }} where link_type in ('hubspot_merge', 'marketo_merge')
)

select
    {{ surrogate_key(['anchors.anchor_record_key']) }} as person_id,
    anchors.anchor_record_key,
    record.*,
    (merge_losers.record_key is not null) as is_merged
from anchors
join {{ ref('int_person_records_unioned') }} as record using (record_key)
left join merge_losers using (record_key)
