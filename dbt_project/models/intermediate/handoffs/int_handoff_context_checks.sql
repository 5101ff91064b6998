{#- Batch joins when rebuilding everything (hash joins, not nested loops guessed from CTE estimates); no
    JIT compile of the large plan. Incremental by person: a build rebuilds the people of int_people_changed. -#}
{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='sync_all_columns',
          pre_hook="{{ batch_join_settings() }}",
          indexes=[{'columns': ['person_id']}, {'columns': ['handoff_id']}]) }}
{#-
    One row per handoff × required context field (docs/warehouse.md; the fields, their groups and
    severities are the context_fields seed): the value the handoff's CRM record carries as it
    stands at as-of (int_handoff_crm_records_joined: "as the rep sees it on the page") and
    whether it is missing (null, empty or a context_missing_markers value, trimmed and
    case-insensitive). Handoffs that never reached a CRM record have no rows: there is no
    record to judge (they are misrouted instead, having no owner).
    The one copy of the rule: the context_stripped leak and fct_handoffs' context columns read
    it, and the quality gate copies its is_missing rows into quality.lead_context_flags.
-#}

with crm_records as (
    select
        handoff_id, person_id, source_system, source_object, source_id,
        email, company, title, industry, employee_count, country, lead_source,
        marketing_touch_count, last_marketing_touch_at
    from {{ ref('int_handoff_crm_records_joined') }}
    where source_id is not null {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

handoff_owners as (
    select handoff_id, owner_id
    from {{ ref('int_handoff_owners_resolved') }}
),

context_fields as (
    select field_name, field_group, severity
    from {{ ref('context_fields') }}
),

record_values as (
    select
        crm_records.handoff_id,
        crm_records.person_id,
        crm_records.source_system,
        crm_records.source_object,
        crm_records.source_id,
        record_fields.field_name,
        record_fields.field_value
    from crm_records
    {{ unpivot_rows([
        ['email', 'crm_records.email'],
        ['company', 'crm_records.company'],
        ['title', 'crm_records.title'],
        ['industry', 'crm_records.industry'],
        ['employee_count', 'crm_records.employee_count'],
        ['country', 'crm_records.country'],
        ['lead_source', 'crm_records.lead_source'],
        ['marketing_touch_count', 'crm_records.marketing_touch_count'],
        ['last_marketing_touch_at', 'crm_records.last_marketing_touch_at']
    ], 'record_fields', 'field_name', 'field_value') }}
)

select
    record_values.handoff_id,
    record_values.person_id,
    handoff_owners.owner_id,
    record_values.field_name,
    context_fields.field_group,
    context_fields.severity,
    record_values.field_value,
    {{ context_value_is_missing('record_values.field_value') }} as is_missing,
    record_values.source_system,
    record_values.source_object,
    record_values.source_id
from record_values
inner join context_fields on record_values.field_name = context_fields.field_name
left join handoff_owners on record_values.handoff_id = handoff_owners.handoff_id
