-- A source value maps to one channel: two rows for the same system, field and value
-- (compared case-insensitively) would make a touch's channel depend on row order.
select source_system, match_field, lower(match_value) as match_value, count(*) as rows_for_value
from {{ ref('channel_mapping') }}
group by 1, 2, 3
having count(*) > 1
