{#-
    One row per leak type of fct_funnel_leaks (seed leak_types): its label, its rank (1 = most
    urgent) and its description, the seed's meaning with every {var_name} placeholder replaced
    by the threshold in force in this run (dbt vars), so the digest and the report say what
    the warehouse actually checked.
-#}
{%- set threshold_vars = [
    'black_hole_business_days',
    'sla_business_minutes',
    'premature_give_up_attempts',
    'duplicate_outreach_days',
    'stalled_days',
    'no_response_reasons',
] -%}

with leak_types as (
    select leak_type, label, rank, meaning from {{ ref('leak_types') }}
)

select
    leak_type,
    label,
    cast(rank as {{ engine_type('integer') }}) as rank,
    {% for name in threshold_vars -%}replace({% endfor -%}
    meaning
    {%- for name in threshold_vars -%}
        {%- set value = var(name) -%}
        {%- if value is iterable and value is not string -%}{%- set value = value | join(', ') -%}{%- endif -%}
        , '{{ "{" ~ name ~ "}" }}', '{{ value | string | replace("'", "''") }}')
    {%- endfor %} as description,
    meaning as meaning_template,
    {%- set named = [] -%}
    {%- for name in threshold_vars -%}
        {%- do named.append("case when " ~ dbt.position("'{" ~ name ~ "}'", 'meaning') ~ " > 0 then '" ~ name ~ "' end") -%}
    {%- endfor %}
    {{ array_without_nulls(named) }} as threshold_vars
from leak_types
