-- One row per user or queue that can own records: Salesforce users and queues, HubSpot owners.
select
    owner_id,
    source_system,
    source_owner_id,
    owner_type,
    name,
    email,
    role,
    team,
    is_active
from {{ ref('int_owners_with_roles') }}
