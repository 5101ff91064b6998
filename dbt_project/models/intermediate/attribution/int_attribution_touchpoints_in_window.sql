{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='opportunity_id',
          rebuilt_keys_from='int_opportunities_changed', on_schema_change='sync_all_columns',
          indexes=[{'columns': ['opportunity_id']}]) }}
{#-
    One row per opportunity × attribution window × touchpoint: the marketing touches of every
    person with a contact role on the opportunity that fall in the window (docs/warehouse.md).
    Two windows per opportunity, both starting `attribution_lookback_days` before its creation:
      opportunity_creation  ends at its creation (every model but full_path)
      opportunity_close     ends at its close, or at as-of while it is open (full_path)
    touch_order numbers the window's touches by time, then touchpoint id (byte order).
    Incremental by opportunity: a build rebuilds the opportunities of int_opportunities_changed.
-#}
{%- set lookback_days = var('attribution_lookback_days') -%}
{%- set form_fill_touch_types = var('attribution_form_fill_touch_types') -%}

with as_of as (
    select {{ as_of() }} as as_of_at
),

opportunities as (
    select
        opportunities.opportunity_id,
        opportunities.primary_person_id,
        opportunities.created_at                           as opportunity_created_at,
        opportunities.closed_at                            as opportunity_closed_at,
        coalesce(opportunities.is_closed, false)           as is_closed,
        coalesce(opportunities.is_won, false)              as is_won,
        opportunities.amount,
        as_of.as_of_at
    from {{ ref('fct_opportunities') }} as opportunities
    cross join as_of
    -- an opportunity created after as-of does not exist yet at as-of; a deleted one no longer does
    where opportunities.created_at <= as_of.as_of_at
      and not coalesce(opportunities.is_deleted, false)
      {{ in_change_set('opportunities.opportunity_id', 'int_opportunities_changed', 'opportunity_id') }}
),

opportunity_people as (
    -- union (not union all): a person holding several roles, or primary and a role, counts once
    select roles.opportunity_id, roles.person_id
    from {{ ref('int_opportunity_contact_roles') }} as roles
    inner join opportunities on opportunities.opportunity_id = roles.opportunity_id
    where roles.person_id is not null
      and (roles.role_created_at is null or roles.role_created_at <= opportunities.as_of_at)
    union
    select opportunity_id, primary_person_id
    from opportunities
    where primary_person_id is not null
),

windows as (
    select
        opportunities.*,
        cast('opportunity_creation' as {{ engine_type('text') }})                       as attribution_window,
        opportunity_created_at                             as window_ends_at
    from opportunities
    union all
    select
        opportunities.*,
        cast('opportunity_close' as {{ engine_type('text') }})                          as attribution_window,
        -- open (or re-opened) → as-of; a close stamped before creation never shrinks the window
        least(
            as_of_at,
            greatest(
                opportunity_created_at,
                case when is_closed then coalesce(opportunity_closed_at, as_of_at) else as_of_at end
            )
        )                                                  as window_ends_at
    from opportunities
),

touch_type_channels as (
    -- one row per system (or `any`) and touch type: assert_attribution_channel_mapping_is_unambiguous
    select source_system, lower(match_value) as touch_type, channel
    from {{ ref('channel_mapping') }}
    where match_field = 'touch_type'
),

touches_in_window as (
    select
        windows.opportunity_id,
        windows.attribution_window,
        touchpoints.touchpoint_id,
        touchpoints.person_id,
        touchpoints.touched_at,
        touchpoints.touch_type,
        -- the touch's own channel; else what the channel map says its touch type means
        coalesce(touchpoints.channel, system_channels.channel, any_system_channels.channel) as channel,
        touchpoints.campaign_id,
        touchpoints.source_system,
        {% if form_fill_touch_types -%}
        coalesce(touchpoints.touch_type in (
            {%- for touch_type in form_fill_touch_types %}'{{ touch_type }}'{{ ", " if not loop.last }}{% endfor -%}
        ), false)
        {%- else %}false{% endif %}                                  as is_form_fill,
        touchpoints.touched_at <= windows.opportunity_created_at as is_at_or_before_opportunity_creation,
        windows.opportunity_created_at,
        windows.opportunity_closed_at,
        windows.window_ends_at,
        windows.is_closed,
        windows.is_won,
        windows.amount
    from windows
    inner join opportunity_people on opportunity_people.opportunity_id = windows.opportunity_id
    inner join {{ ref('fct_touchpoints') }} as touchpoints on touchpoints.person_id = opportunity_people.person_id
    left join touch_type_channels as system_channels
        on system_channels.touch_type = lower(touchpoints.touch_type)
       and system_channels.source_system = touchpoints.source_system
    left join touch_type_channels as any_system_channels
        on any_system_channels.touch_type = lower(touchpoints.touch_type)
       and any_system_channels.source_system = 'any'
    -- the lookback in whole seconds: a day is 86,400 s whatever the session's time zone
    where touchpoints.touched_at >= {{ add_days('windows.opportunity_created_at', -(lookback_days | int)) }}
      and touchpoints.touched_at <= windows.window_ends_at
)

select
    *,
    row_number() over (
        partition by opportunity_id, attribution_window
        order by touched_at, {{ bytewise_order("touchpoint_id") }}
    )                                                      as touch_order,
    count(*) over (partition by opportunity_id, attribution_window) as window_touch_count
from touches_in_window
