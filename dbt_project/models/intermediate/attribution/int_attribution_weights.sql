{#-
    One row per opportunity × touchpoint × model: the touch's raw (unnormalized) weight.
    Position models give each position's weight to the touch holding it (a touch holding several
    adds them up) and share `rest` equally among the touches holding none of the model's own
    positions; a share nobody can take is simply not given, so fct_attribution's renormalization
    drops it. time_decay weighs a touch 2^(-days before the opportunity's creation / half-life),
    days counted as a fraction.
    `attribution_position_weights` overrides or adds models by name, e.g.
      --vars '{attribution_position_weights: {u_shaped: {first_touch: 0.5, lead_creation: 0.3, rest: 0.2}}}'
    A position belongs to a model when its weight is above zero. `attribution_models` lists the
    models to build (default: all seven).
-#}
{%- set position_models = {
    'first_touch': {'first_touch': 1},
    'last_touch':  {'opportunity_creation': 1},
    'linear':      {'rest': 1},
    'u_shaped':    {'first_touch': 0.4, 'lead_creation': 0.4, 'rest': 0.2},
    'w_shaped':    {'first_touch': 0.3, 'lead_creation': 0.3, 'opportunity_creation': 0.3, 'rest': 0.1},
    'full_path':   {'first_touch': 0.225, 'lead_creation': 0.225, 'opportunity_creation': 0.225,
                    'closed_won': 0.225, 'rest': 0.1, 'window': 'opportunity_close'},
} -%}
{%- do position_models.update(var('attribution_position_weights')) -%}
{%- set enabled_models = var('attribution_models') or ((position_models.keys() | list) + ['time_decay']) -%}
{%- set half_life_days = var('attribution_time_decay_half_life_days') -%}
{%- set positions = ['first_touch', 'lead_creation', 'opportunity_creation', 'closed_won'] -%}
{%- set position_flags = {
    'first_touch': 'is_first_touch',
    'lead_creation': 'is_lead_creation_touch',
    'opportunity_creation': 'is_opportunity_creation_touch',
    'closed_won': 'is_closed_won_touch',
} -%}

with positions as (
    select * from {{ ref('int_attribution_touchpoint_positions') }}
),

models as (
    {%- for model_name, weights in position_models.items() if model_name in enabled_models %}
    select
        cast('{{ model_name }}' as {{ engine_type('text') }})                                          as model,
        cast('{{ weights.get("window", "opportunity_creation") }}' as {{ engine_type('text') }})      as attribution_window,
        {%- for position in positions %}
        cast({{ weights.get(position, 0) }} as {{ engine_type('numeric') }})                            as {{ position }}_weight,
        {%- endfor %}
        cast({{ weights.get('rest', 0) }} as {{ engine_type('numeric') }})                              as rest_weight
    union all
    {%- endfor %}
    -- keeps the union well-formed (and the columns typed) whichever models are enabled
    select cast(null as {{ engine_type('text') }}), cast(null as {{ engine_type('text') }}), {% for position in positions %}cast(null as {{ engine_type('numeric') }}), {% endfor %}cast(null as {{ engine_type('numeric') }})  -- noqa: LT05
    where false
),

held as (
    select
        positions.*,
        models.model,
        models.rest_weight,
        {%- for position in positions %}
        models.{{ position }}_weight > 0 and positions.{{ position_flags[position] }} as holds_{{ position }},
        models.{{ position }}_weight                                           as model_{{ position }}_weight{{ "," if not loop.last }}
        {%- endfor %}
    from positions
    inner join models on models.attribution_window = positions.attribution_window
),

position_weighted as (
    select
        *,
        {%- for position in positions %}
        case when holds_{{ position }} then model_{{ position }}_weight else 0 end{{ " +" if not loop.last }}
        {%- endfor %}                                                     as position_weight,
        not ({% for position in positions %}holds_{{ position }}{{ " or " if not loop.last }}{% endfor %}) as is_rest,  -- noqa: LT06, LT05
        nullif(concat_ws(','
            {%- for position in positions %}, case when holds_{{ position }} then '{{ position }}' end{% endfor -%}  -- noqa: LT05
        ), '')                                                            as positions
    from held
),

rest_shared as (
    select
        *,
        count(*) filter (where is_rest) over (partition by opportunity_id, model) as rest_touch_count
    from position_weighted
),

weights as (
    select
        opportunity_id,
        touchpoint_id,
        model,
        attribution_window,
        positions,
        position_weight + case when is_rest then rest_weight / rest_touch_count else 0 end as weight
    from rest_shared

    {%- if 'time_decay' in enabled_models %}

    union all

    select
        opportunity_id,
        touchpoint_id,
        'time_decay'                                                      as model,
        attribution_window,
        null                                                              as positions,
        power(
            cast(2 as {{ engine_type('numeric') }}),
            -({{ seconds_between('touched_at', 'opportunity_created_at') }} / 86400) / cast({{ half_life_days }} as {{ engine_type('numeric') }})
        )                                                                 as weight
    from positions
    where attribution_window = 'opportunity_creation'
    {%- endif %}
)

select
    weights.opportunity_id,
    weights.touchpoint_id,
    weights.model,
    weights.attribution_window,
    weights.positions,
    -- trailing zeros trimmed: 0.9, not 0.900, so equal weights also read the same
    {{ trim_scale("weights.weight") }}                                            as weight,
    positions.person_id,
    positions.touched_at,
    positions.touch_type,
    positions.channel,
    positions.campaign_id,
    positions.source_system,
    positions.touch_order,
    positions.opportunity_created_at,
    positions.is_won,
    positions.amount
from weights
inner join positions
    on positions.opportunity_id = weights.opportunity_id
   and positions.attribution_window = weights.attribution_window
   and positions.touchpoint_id = weights.touchpoint_id
