{{ config(materialized='incremental', unique_key='state_key', incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns') }}
{#-
    One row: what this build of these schemas catches up on since the last one (macros/incremental.sql,
    docs/scale.md): raw rows the loader wrote from changed_since on, and things whose instant lies
    between the last build's as-of and this one's; everything (is_full) after no build yet, or when
    the project's models, seeds or settings vars changed (settings fingerprint), or the owners did
    (a role, team, name or active flag re-judges every touch).
    A build saw every raw row written before its start, except those of loads still running then:
    a load commits its rows at its end, and stamps them with the time it wrote them. So its
    watermark is its start, or the start of the oldest load running then (baton_meta.load_log
    marks a running load `started`, committed before it reads a record), whichever is earlier;
    the next build re-reads from there, minus the incremental_lookback_minutes var (0: raw tables
    written by something else than Baton's loader may want a margin).
-#}
{%- set fingerprint = incremental_settings_fingerprint() -%}
{%- set load_log = load_log_relation() -%}

with owners as (
    select md5(coalesce({{ ordered_text_agg(
        "concat_ws('|', owner_id, source_system, source_owner_id, owner_type, name, email, role, team,
                  cast(is_active as " ~ engine_type('text') ~ "), group_type)",
        ',', ['owner_id']) }}, '')) as fingerprint
    from {{ ref('int_owners_with_roles') }}
),

loads_running as (
    {%- if load_log %}
    select min(started_at) as since from {{ load_log }} where status = 'started'
    {%- else %}
    select cast(null as {{ engine_type('timestamptz') }}) as since
    {%- endif %}
),

last_build as (
    {%- if is_incremental() %}
    select built_at, watermark, as_of, settings_fingerprint, owners_fingerprint from {{ this }}
    {%- else %}
    select
        cast(null as {{ engine_type('timestamptz') }}) as built_at, cast(null as {{ engine_type('timestamptz') }}) as watermark, cast(null as {{ engine_type('timestamptz') }}) as as_of,
        cast(null as {{ engine_type('text') }}) as settings_fingerprint, cast(null as {{ engine_type('text') }}) as owners_fingerprint
    where false
    {%- endif %}
)

select
    cast('last_build' as {{ engine_type('text') }})                                                          as state_key,
    {{ dbt.current_timestamp() }}                                               as built_at,
    least({{ dbt.current_timestamp() }}, loads_running.since)                   as watermark,
    {{ as_of() }}                                                               as as_of,
    cast('{{ fingerprint }}' as {{ engine_type('text') }})                                                   as settings_fingerprint,
    owners.fingerprint                                                          as owners_fingerprint,
    last_build.built_at                                                         as previous_built_at,
    last_build.as_of                                                            as previous_as_of,
    {{ add_minutes('last_build.watermark', -(var("incremental_lookback_minutes") | int)) }} as changed_since,
    (last_build.built_at is null
     or last_build.settings_fingerprint is distinct from '{{ fingerprint }}'
     or last_build.owners_fingerprint is distinct from owners.fingerprint)      as is_full
from owners
cross join loads_running
left join last_build on true
