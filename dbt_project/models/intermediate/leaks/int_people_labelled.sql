{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='sync_all_columns',
          indexes=[{'columns': ['person_id'], 'unique': true}]) }}
{#-
    One row per person (dim_people) with the label a leak's detail names them by:
    "First Last <email>", else the email, else "person <id prefix>".
-#}

with people as (
    select person_id, account_id, owner_id, first_name, last_name, email
    from {{ ref('dim_people') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
)

select
    person_id,
    account_id,
    owner_id,
    coalesce(nullif(concat_ws(' ', first_name, last_name), ''), email, 'person ' || left(person_id, 8))
    || case
        when email is not null and concat_ws(' ', first_name, last_name) <> '' then ' <' || email || '>' else ''
    end as person_label
from people
