{#-
    One row per opportunity whose rows the incremental attribution models and the contact roles
    rebuild (macros/incremental.sql): opportunities (and their field history, contact roles, HubSpot
    deals) the loader wrote since the last build; the opportunities of people in int_people_changed
    (their touches or their person changed), as the last build had their roles; and, when the as-of
    moved, the opportunities created or given a role in between, and those whose attribution window
    still ends at as-of (open, or closed later). Empty when the build rebuilds everything.
-#}
-- depends_on: {{ ref('int_people_changed') }}
-- depends_on: {{ ref('int_opportunities_unioned') }}
{%- set state = incremental_state() %}

{#- Everything rebuilt: nothing to list (the query stays, so dbt sees every ref). -#}
{%- set since = instant_infinity() if state.full else text_to_instant("'" ~ state.changed_since ~ "'") %}
{%- set last_roles = last_built_or_empty('int_opportunity_contact_roles',
        {'opportunity_id': 'text', 'person_id': 'text', 'role_created_at': 'timestamptz'}) %}

with changed as (
    select {{ surrogate_key(["'opportunity'", "'salesforce'", 'opportunity_id']) }} as opportunity_id
    from {{ ref('stg_salesforce__opportunities') }} where _loaded_at >= {{ since }}
    union all
    select {{ surrogate_key(["'opportunity'", "'salesforce'", 'opportunity_id']) }}
    from {{ ref('stg_salesforce__opportunity_field_history') }} where _loaded_at >= {{ since }}
    union all
    select {{ surrogate_key(["'opportunity'", "'salesforce'", 'opportunity_id']) }}
    from {{ ref('stg_salesforce__opportunity_contact_roles') }} where _loaded_at >= {{ since }}
    union all
    select {{ surrogate_key(["'opportunity'", "'hubspot'", 'deal_id']) }}
    from {{ ref('stg_hubspot__deals') }} where _loaded_at >= {{ since }}
    union all
    select last_roles.opportunity_id
    from {{ last_roles }} as last_roles
    where last_roles.person_id in (select person_id from {{ ref('int_people_changed') }})
    {%- if not state.full and state.previous_as_of is not none and state.previous_as_of != state.as_of %}
    union all
    select {{ surrogate_key(["'opportunity'", 'source_system', 'source_id']) }}
    from {{ ref('int_opportunities_unioned') }}
    where {{ crossed_as_of('created_at', state) }}
       -- the full_path window of an open opportunity (or one closed after the earlier as-of) ends at as-of
       or not coalesce(is_closed, false) or closed_at is null
       or closed_at > least(cast('{{ state.previous_as_of }}' as {{ engine_type('timestamptz') }}), cast('{{ state.as_of }}' as {{ engine_type('timestamptz') }}))
    union all
    select last_roles.opportunity_id
    from {{ last_roles }} as last_roles
    where {{ crossed_as_of('last_roles.role_created_at', state) }}
    {%- endif %}
)

select distinct opportunity_id
from changed
where opportunity_id is not null and not {{ state.full }}
