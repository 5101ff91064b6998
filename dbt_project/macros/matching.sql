{#-
    Person matching (int_people_matched_across_sources): source records are the nodes of a graph
    whose edges are int_person_record_links (emails are nodes too); a person is a connected
    component; person_id hashes the component's anchor, its earliest-created record (ties by key),
    so it survives reruns and later records joining the person. A record merged away in its
    system (the loser of a Salesforce, HubSpot or Marketo merge) is flagged is_merged.

    `seeds`: a relation of record_key whose components are matched (an incremental build's
    records and everything connected to them), or none for every record. Returns one row per
    record of those components: record_key, anchor_record_key, person_id, is_merged.
-#}
{% macro match_people(seeds=none) -%}
    {%- set records = ref('int_person_records_unioned') -%}
    {%- set links = ref('int_person_record_links') -%}
    with recursive reachable (seed_key, reached_key) as (
        select record_key, record_key from {{ seeds or records }}  -- noqa: AL08
        union
        select reachable.seed_key, edges.to_key
        from reachable
        inner join (
            select from_key, to_key from {{ links }}
            union all
            select to_key, from_key from {{ links }}
        ) as edges on edges.from_key = reachable.reached_key
    ),

    anchors as (
        select seed_key, anchor_record_key
        from (
            select
                reachable.seed_key,
                reachable.reached_key as anchor_record_key,
                row_number() over (
                    partition by reachable.seed_key
                    order by reached.created_at nulls last, reachable.reached_key
                ) as distinct_on_rank
            from reachable
            inner join {{ records }} as reached on reachable.reached_key = reached.record_key
        ) as first_rows
        where distinct_on_rank = 1
),

    members as (
        -- every record of a seed's component has the seed's anchor (one component, one anchor)
        select distinct reachable.reached_key as record_key, anchors.anchor_record_key
        from reachable
        inner join anchors on reachable.seed_key = anchors.seed_key
        inner join {{ records }} as member on reachable.reached_key = member.record_key
    ),

    merge_losers as (
        select from_key as record_key from {{ links }} where link_type = 'salesforce_merge'
        union
        select to_key from {{ links }} where link_type in ('hubspot_merge', 'marketo_merge')
    )

    select
        members.record_key,
        members.anchor_record_key,
        {{ surrogate_key(['members.anchor_record_key']) }} as person_id,
        (merge_losers.record_key is not null) as is_merged
    from members
    left join merge_losers on members.record_key = merge_losers.record_key
{%- endmacro %}
