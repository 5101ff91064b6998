"""baton_extract_hubspot: HubSpot into raw_hubspot, nightly, one Airflow task per stream.

Each run extracts every stream from its watermark up to the end of the run's data interval
(00:00 UTC; the interval is the UTC day before) through search windows and the list, batch and association APIs,
lands each stream in one transaction, and publishes the raw_hubspot Asset that
`baton_transform` waits on. Credentials come only from the `hubspot_default` connection
(host = API base URL, password = private-app token); the warehouse from `warehouse_default` or WAREHOUSE_URL.
"""

from baton.airflow.dags import extract_dag

dag = extract_dag("hubspot", doc_md=__doc__)
