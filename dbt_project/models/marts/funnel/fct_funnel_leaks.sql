{#- Indexes for the readers' filters (docs/scale.md): one owner, team, leak type or person, a period, and the
    accounts of a leak type (the reports' pipeline at risk). -#}
{{ config(indexes=[{'columns': ['owner_id', 'detected_at']}, {'columns': ['owner_team', 'detected_at']},
                   {'columns': ['leak_type', 'detected_at']}, {'columns': ['leak_type', 'account_id']},
                   {'columns': ['person_id']}, {'columns': ['handoff_id']}]) }}
{#-
    One row per detected funnel leak (docs/warehouse.md): the union of the nine leak rules, one
    intermediate model each (models/intermediate/leaks/int_<leak type>_leaks_detected), with
    the leak's key, its owner's name and team, the person's account and the handoff's instant.
    What each type means, with the thresholds in force, is dim_leak_types (built with it, so
    the leak_type relationship test always has its target).
-#}
{%- set leak_rules = [
    'int_black_hole_leaks_detected',
    'int_slow_response_leaks_detected',
    'int_misrouted_leaks_detected',
    'int_premature_give_up_leaks_detected',
    'int_rejected_without_reason_leaks_detected',
    'int_context_stripped_leaks_detected',
    'int_duplicate_outreach_leaks_detected',
    'int_existing_customer_prospected_leaks_detected',
    'int_stalled_leaks_detected',
] %}
-- depends_on: {{ ref('dim_leak_types') }}

with leaks as (
    {%- for rule in leak_rules %}
    select leak_type, person_id, handoff_id, owner_id, detected_at, severity, detail
    from {{ ref(rule) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

owners as (
    select owner_id, name, team from {{ ref('int_owners_with_roles') }}
),

people as (
    select person_id, account_id from {{ ref('dim_people') }}
),

handoffs as (
    select handoff_id, handed_off_at from {{ ref('fct_handoffs') }}
)

select
    {{ surrogate_key(["'leak'", 'leaks.leak_type', 'leaks.person_id', 'leaks.handoff_id']) }} as leak_id,
    leaks.leak_type,
    leaks.person_id,
    leaks.handoff_id,
    leaks.owner_id,
    owners.name as owner_name,
    owners.team as owner_team,
    people.account_id,
    handoffs.handed_off_at,
    leaks.detected_at,
    leaks.severity,
    leaks.detail
from leaks
left join owners on leaks.owner_id = owners.owner_id
left join people on leaks.person_id = people.person_id
left join handoffs on leaks.handoff_id = handoffs.handoff_id
