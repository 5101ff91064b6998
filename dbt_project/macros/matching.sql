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
    {{- return(adapter.dispatch('match_people', 'baton')(seeds)) -}}
{%- endmacro %}

{#- PostgreSQL and DuckDB: a recursive walk of the graph from the seeds (UNION stops at cycles). -#}
{% macro default__match_people(seeds) -%}
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


{#- Spark: its recursive CTEs take no UNION (the walk would not stop at the graph's cycles), so the
    components come from label propagation run to its fixed point: every node starts labelled with
    its own key and takes the smallest label among its neighbours', one table per round, until a
    round changes no label (as many rounds as the widest component is long). A component's label is
    then its smallest key; the anchor, person_id and is_merged follow as on the other engines. The
    last round's table stays beside the model (<model>__component_labels), rebuilt by every build. -#}
{% macro spark__match_people(seeds) -%}
    {%- set records = ref('int_person_records_unioned') -%}
    {%- set links = ref('int_person_record_links') -%}
    {%- set edges -%}
        (select from_key, to_key from {{ links }} union all select to_key, from_key from {{ links }})
    {%- endset -%}
    {%- if this is none -%}
    {#- A unit test: its inputs are CTEs of the test's rows, which no statement run beforehand can read,
        so the rounds are CTEs of this one query, each reading the round before once (a node's own
        label counts as a neighbour's: self-loops join the edges), enough for a test's components
        (up to 16 hops across); the query fails (assert_true) unless one more round changes nothing. -#}
    with nodes as (
        select record_key as node from {{ records }} union select from_key from {{ edges }}
    ),
    steps as (
        select from_key, to_key from {{ edges }} union all select node, node from nodes
    ),
    labels_0 as (
        select node, node as label from nodes
    ),
    {%- for round in range(1, 18) %}
    labels_{{ round }} as (
        select steps.from_key as node, min(previous.label) as label
        from steps inner join labels_{{ round - 1 }} as previous on steps.to_key = previous.node
        group by steps.from_key
    ),
    {%- endfor %}
    labels as (
        select settled.node, settled.label
        from labels_16 as settled
        inner join labels_17 as after on settled.node = after.node
        where assert_true(settled.label = after.label, 'match_people: components wider than 16 hops in a unit test') is null
    ),
    {%- set labels = 'labels' -%}
    {%- else -%}
    {%- set labels = this.incorporate(path={'identifier': this.identifier ~ '__component_labels'}) -%}
    {%- if execute -%}
        {%- do run_query('drop table if exists ' ~ labels) -%}
        {%- do run_query('create table ' ~ labels ~ ' using parquet as select node, node as label from ('
                         ~ 'select record_key as node from ' ~ records ~ ' union select from_key from ' ~ edges ~ ')') -%}
        {%- set state = namespace(done=false, rounds=0) -%}
        {%- for round in range(1000) if not state.done -%}
            {%- set next_labels = labels.incorporate(path={'identifier': labels.identifier ~ '_next'}) -%}
            {%- do run_query('drop table if exists ' ~ next_labels) -%}
            {%- set step -%}
                create table {{ next_labels }} using parquet as
                select labels.node, least(labels.label, coalesce(min(neighbours.label), labels.label)) as label
                from {{ labels }} as labels
                left join {{ edges }} as edges on edges.from_key = labels.node
                left join {{ labels }} as neighbours on neighbours.node = edges.to_key
                group by labels.node, labels.label
            {%- endset -%}
            {%- do run_query(step) -%}
            {%- set changed = run_query('select count(*) from ' ~ next_labels ~ ' as next_labels join ' ~ labels
                                        ~ ' as labels on labels.node = next_labels.node where labels.label <> next_labels.label').columns[0].values()[0] -%}
            {%- do run_query('drop table ' ~ labels) -%}
            {%- do run_query('alter table ' ~ next_labels ~ ' rename to ' ~ labels) -%}
            {%- set state.rounds = state.rounds + 1 -%}
            {%- if changed == 0 -%}{%- set state.done = true -%}{%- endif -%}
        {%- endfor -%}
        {%- if not state.done -%}
            {%- do exceptions.raise_compiler_error('match_people: the component labels did not settle in 1000 rounds') -%}
        {%- endif -%}
    {%- endif %}
    with
    {%- endif %}
    components as (
        select records.record_key, labels.label as component, records.created_at
        from {{ records }} as records
        inner join {{ labels }} as labels on labels.node = records.record_key
    ),

    anchors as (
        select component, anchor_record_key
        from (
            select
                component,
                record_key as anchor_record_key,
                row_number() over (partition by component order by created_at nulls last, record_key) as anchor_rank
            from components
        ) as ranked
        where anchor_rank = 1
    ),

    members as (
        select distinct components.record_key, anchors.anchor_record_key
        from components
        inner join anchors on components.component = anchors.component
        {%- if seeds %}
        where components.component in (
            select seeded.component from components as seeded inner join {{ seeds }} on {{ seeds }}.record_key = seeded.record_key
        )
        {%- endif %}
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
