-- One row per Marketo lead merged into another ("Merge Leads" activity on the winner,
-- whose "Merge Ids" attribute names the losers).
select distinct
    activity.lead_id                            as winner_lead_id,
    loser.loser_lead_id                         as loser_lead_id,
    activity.activity_at                        as merged_at
from {{ ref('int_marketo_activities_parsed') }} as activity
     {{ array_rows(regex_all_matches("coalesce(activity.merge_ids, activity.primary_attribute_value, '')", '\d+'),
                   'loser', 'loser_lead_id') }}
where activity.activity_type_id = 32
  and loser.loser_lead_id <> activity.lead_id
