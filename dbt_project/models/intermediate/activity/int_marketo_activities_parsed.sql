{{ config(materialized='incremental', unique_key='activity_id', incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns',
          indexes=[{'columns': ['activity_id']}, {'columns': ['lead_id']}, {'columns': ['_loaded_at']}]) }}
-- One row per Marketo activity Baton reads (web visits, form fills, email clicks, new leads,
-- status changes, merges, program progressions), its attributes unpacked. Incremental: activities
-- never change once written, so a build only parses what the loader wrote since the last build
-- (macros/incremental.sql).
with activities as (
    select *
    from {{ ref('stg_marketo__activities') }}
    where activity_type_id in (1, 2, 11, 12, 13, 32, 104)
    {{ loaded_since_last_build() }}
)

select
    activity_id,
    lead_id,
    activity_at,
    activity_type_id,
    campaign_id,
    primary_attribute_value_id,
    primary_attribute_value,
    (select attribute ->> 'value' from jsonb_array_elements(attributes) as attribute
      where attribute ->> 'name' = 'New Value' limit 1)                  as new_value,
    (select attribute ->> 'value' from jsonb_array_elements(attributes) as attribute
      where attribute ->> 'name' = 'Old Value' limit 1)                  as old_value,
    (select attribute ->> 'value' from jsonb_array_elements(attributes) as attribute
      where attribute ->> 'name' = 'Reason' limit 1)                     as change_reason,
    (select attribute ->> 'value' from jsonb_array_elements(attributes) as attribute
      where attribute ->> 'name' in ('Merge Ids', 'Merged Ids') limit 1)  as merge_ids,
    (select attribute ->> 'value' from jsonb_array_elements(attributes) as attribute
      where attribute ->> 'name' in ('Webpage URL', 'Web Page URL', 'Referrer URL') limit 1) as url,
    is_deleted,
    _loaded_at
from activities
