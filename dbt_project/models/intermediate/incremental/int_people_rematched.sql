{#-
    One row per person source record whose person an incremental build matches again
    (macros/matching.sql, macros/incremental.sql): the records of int_person_records_changed, every
    record of the people they belonged to at the last build (a removed link can split a person),
    and every record now connected to them (a new link can join people). previous_person_id is the
    person the record had at the last build (null for a new record). int_people_matched_across_sources
    takes these rows; int_people_changed takes both person ids. Empty when the build rebuilds
    everything.
-#}
-- depends_on: {{ ref('int_person_records_changed') }}
-- depends_on: {{ ref('int_person_records_unioned') }}
-- depends_on: {{ ref('int_person_record_links') }}
{%- set state = incremental_state() %}
{%- set last_matched = last_built_or_empty('int_people_matched_across_sources',
                                           {'record_key': 'text', 'person_id': 'text'}) %}

{%- if state.full %}
select
    cast(null as {{ engine_type('text') }}) as record_key, cast(null as {{ engine_type('text') }}) as anchor_record_key, cast(null as {{ engine_type('text') }}) as person_id, cast(null as {{ engine_type('boolean') }}) as is_merged,
    cast(null as {{ engine_type('text') }}) as previous_person_id
where false
{%- else %}
with seeds as (
    select record_key from {{ ref('int_person_records_changed') }}
    union
    select last_matched.record_key
    from {{ last_matched }} as last_matched
    where last_matched.person_id in (
        select person_id from {{ last_matched }} as last_matched_records
        where record_key in (select record_key from {{ ref('int_person_records_changed') }})
    )
),

matched as (
    {{ match_people(seeds='seeds') }}
)

select
    matched.record_key,
    matched.anchor_record_key,
    matched.person_id,
    matched.is_merged,
    last_matched.person_id as previous_person_id
from matched
left join {{ last_matched }} as last_matched on matched.record_key = last_matched.record_key
{%- endif %}
