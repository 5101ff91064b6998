-- One row per user or queue that can own a record (Salesforce users and queues, HubSpot
-- owners), with the role the role_rules seed gives it (per-user overrides first).
with owners as (
    select
        'salesforce' as source_system, users.user_id as source_owner_id, 'User' as owner_type,
        coalesce(users.name, concat_ws(' ', users.first_name, users.last_name)) as name,
        users.email, user_roles.name as team, users.is_active, cast(null as {{ engine_type('text') }}) as group_type
    from {{ ref('stg_salesforce__users') }} as users
    left join {{ ref('stg_salesforce__user_roles') }} as user_roles using (user_role_id)
    union all
    select
        'salesforce', group_id, 'Group', name, null, name, true, group_type  -- noqa: AL08
    from {{ ref('stg_salesforce__groups') }}
    where group_type = 'Queue'
    union all
    select
        'hubspot', owner_id, 'Owner', nullif(concat_ws(' ', first_name, last_name), ''),
        email, primary_team_name, not is_deleted, null
    from {{ ref('stg_hubspot__owners') }}
),

rules as (
    select * from {{ ref('role_rules') }}
),

matched as (
    select source_system, source_owner_id, role
    from (
        select
            owners.source_system,
            owners.source_owner_id,
            rules.role,
            row_number() over (
                partition by owners.source_system, owners.source_owner_id
                order by rules.priority
            ) as distinct_on_rank
        from owners
        join rules
        on rules.source_system in ('any', owners.source_system)
        and case rules.match_type
        when 'user_id' then rules.match_value = owners.source_owner_id
        when 'group_type' then rules.match_value = owners.group_type
        when 'name_contains' then owners.team ilike '%' || rules.match_value || '%'
        end
    ) as first_rows
    where distinct_on_rank = 1
)

select
    {{ owner_key('owners.source_system', 'owners.source_owner_id') }} as owner_id,
    owners.*,
    matched.role
from owners
left join matched using (source_system, source_owner_id)
