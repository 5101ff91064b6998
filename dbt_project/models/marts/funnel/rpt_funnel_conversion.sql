{#-
    One row per cohort month × channel × segment: how many people of the cohort reached each
    main-path stage, stage-to-stage conversion, and the median days between stages.
    A person's cohort is the month they first entered the funnel (their first stage spell);
    reaching a stage means reaching it or any later main-path stage (skipping sal still counts
    as passing it), at its earliest. Channel is dim_people.original_channel; segment is the
    account's size band by employee_count (vars segment_mid_market_employees, default 100,
    and segment_enterprise_employees, default 1000).
-#}
{%- set mid_market = var('segment_mid_market_employees') | int -%}
{%- set enterprise = var('segment_enterprise_employees') | int -%}
{%- set stages = ['prospect', 'mql', 'sal', 'sql', 'opportunity', 'customer'] -%}

with spells as (
    select history.person_id, history.stage, history.entered_at, stages.stage_order
    from {{ ref('fct_lifecycle_stage_history') }} as history
    join {{ ref('lifecycle_stages') }} as stages using (stage)
),

reached as (
    select
        person_id,
        {%- for stage in stages %}
        min(entered_at) filter (where is_main_path_order >= {{ loop.index }})         as reached_{{ stage }}_at,
        {%- endfor %}
        min(entered_at)                                                               as cohort_entered_at
    from (
        select spells.*, case when spells.stage_order between 1 and {{ stages | length }} then spells.stage_order end
                         as is_main_path_order
        from spells
    ) as ordered
    group by person_id
),

people as (
    select
        people.person_id,
        coalesce(people.original_channel, 'unknown')                                  as channel,
        case
            when accounts.employee_count is null then 'unknown'
            when accounts.employee_count >= {{ enterprise }} then 'enterprise'
            when accounts.employee_count >= {{ mid_market }} then 'mid_market'
            else 'smb'
        end                                                                           as segment
    from {{ ref('dim_people') }} as people
    left join {{ ref('dim_accounts') }} as accounts using (account_id)
),

cohorts as (
    select
        {{ utc_month("reached.cohort_entered_at") }}       as cohort_month,
        people.channel,
        people.segment,
        reached.*
    from reached
    join people using (person_id)
)

select
    cohort_month,
    channel,
    segment,
    cast(count(*) as {{ engine_type('integer') }}) as people,
    {%- for stage in stages %}
    cast(count(reached_{{ stage }}_at) as {{ engine_type('integer') }}) as reached_{{ stage }},
    {%- endfor %}
    {%- for stage in stages[1:] %}
    {%- set previous = stages[loop.index - 1] %}
    cast(round(cast(count(reached_{{ stage }}_at) as {{ engine_type('numeric') }}) / nullif(count(reached_{{ previous }}_at), 0), 4) as {{ engine_type('numeric(10, 4)') }})
        as {{ previous }}_to_{{ stage }}_rate,
    {%- endfor %}
    {%- for stage in stages[1:] %}
    {%- set previous = stages[loop.index - 1] %}
    cast(round(cast(({{ median(seconds_between('reached_' ~ previous ~ '_at', 'reached_' ~ stage ~ '_at') ~ ' / 86400.0',
                          'reached_' ~ previous ~ '_at is not null and reached_' ~ stage ~ '_at is not null') }}) as {{ engine_type('numeric') }}), 2
    ) as {{ engine_type('numeric(12, 2)') }}) as median_days_{{ previous }}_to_{{ stage }}{{ "," if not loop.last }}
    {%- endfor %}
from cohorts
group by cohort_month, channel, segment
