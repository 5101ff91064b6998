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
    {{ json_array_first_match('attributes', 'name', ['New Value'], 'value') }} as new_value,
    {{ json_array_first_match('attributes', 'name', ['Old Value'], 'value') }} as old_value,
    {{ json_array_first_match('attributes', 'name', ['Reason'], 'value') }} as change_reason,
    {{ json_array_first_match('attributes', 'name', ['Merge Ids', 'Merged Ids'], 'value') }} as merge_ids,
    {{ json_array_first_match('attributes', 'name', ['Webpage URL', 'Web Page URL', 'Referrer URL'], 'value') }} as url,
    is_deleted,
    _loaded_at
from activities
