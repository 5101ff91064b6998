"""baton_hot_leads: the hourly SLA watch; a CRM task for every open handoff that became overdue.

Every hour (data-interval timetable "0 * * * *", UTC; the interval's end is the as-of instant):

    extract_<source> (the streams the watch's models read, from their watermarks up to the hour's
    end; a source without connection is skipped with one log line) → build (dbt build of the
    slow_response and black_hole leak rules and what a task tells the rep, into the `_watch`
    schemas, as of the hour's end) → write (one Salesforce Task or HubSpot task per open handoff
    overdue with no sales touch, for its owner, with the context the rep lacks)

Write-back is off until the Airflow Variable `baton_write_back` says `dry-run` or `on`. An
idempotency key per handoff and breach in baton_meta.watch_tasks, claimed before the POST and
carried on the task, means one task at most across reruns, retries and overlapping runs; a failed
write fails the write task and is retried next hour. The same functions run as
`baton watch --at INSTANT` (docs/write-back.md).
"""

from __future__ import annotations

from baton.airflow.watch import hot_leads_dag

hot_leads_dag(__doc__)
