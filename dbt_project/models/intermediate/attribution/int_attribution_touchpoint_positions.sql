{#-
    One row per opportunity × attribution window × touchpoint, with the positions it holds
    (docs/warehouse.md). A touch can hold several positions.
      first_touch           the window's earliest touch
      lead_creation         the earliest form fill at or before the opportunity's creation, else first_touch
      opportunity_creation  the last touch at or before the opportunity's creation
      closed_won            the last touch at or before the close of a won opportunity
                            (opportunity_close window only; open and lost opportunities have none)
    "Earliest" and "last" follow touch_order: time, then touchpoint id, so ties resolve the same
    way on every run.
-#}

with touches as (
    select * from {{ ref('int_attribution_touchpoints_in_window') }}
),

position_orders as (
    select
        *,
        coalesce(
            min(case when is_form_fill and is_at_or_before_opportunity_creation then touch_order end) over path,
            1
        )                                                                           as lead_creation_order,
        max(case when is_at_or_before_opportunity_creation then touch_order end) over path
                                                                                    as opportunity_creation_order,
        case
            when attribution_window = 'opportunity_close' and is_won
                then max(case when touched_at <= coalesce(opportunity_closed_at, window_ends_at)
                              then touch_order end) over path
        end                                                                         as closed_won_order
    from touches
    window path as (partition by opportunity_id, attribution_window)
)

select
    opportunity_id,
    attribution_window,
    touchpoint_id,
    person_id,
    touched_at,
    touch_type,
    channel,
    campaign_id,
    source_system,
    is_form_fill,
    is_at_or_before_opportunity_creation,
    opportunity_created_at,
    opportunity_closed_at,
    window_ends_at,
    is_closed,
    is_won,
    amount,
    touch_order,
    window_touch_count,
    touch_order = 1                                           as is_first_touch,
    touch_order = lead_creation_order                         as is_lead_creation_touch,
    coalesce(touch_order = opportunity_creation_order, false) as is_opportunity_creation_touch,
    coalesce(touch_order = closed_won_order, false)           as is_closed_won_touch
from position_orders
