"""The hourly SLA watch: one hour of it extracts, builds, evaluates and writes tasks back to the CRM.

    extract   the streams the watch's models read (baton.watch.models.watch_streams), from their
              watermarks up to the hour's end, through the same runner and loader as the nightly
    build     `dbt build` of the two leak rules (slow_response, black_hole) and what a task tells the
              rep, into the `_watch` schemas, as of the hour's end (BATON_AS_OF): the nightly's
              models and rules, never a second implementation, never the nightly's schemas
    evaluate  every open handoff that is overdue with no sales touch at the hour's end
              (baton.watch.models.breaches: what a digest reads too, with owner and record link)
    write     one CRM task per handoff and breach (baton.watch.writeback), claimed in
              baton_meta.watch_tasks before the POST, so reruns, retries and overlapping runs never
              write two; off until configured (baton.watch.settings)

`baton watch --at INSTANT` (baton.watch.cli) and the `baton_hot_leads` DAG (baton.airflow.watch) run
the same functions (baton.watch.hour). docs/write-back.md is the design note.
"""
