"""baton_extract_salesforce: Salesforce into raw_salesforce, nightly, one Airflow task per stream.

Each run extracts every stream from its watermark up to the end of the run's data interval
(00:00 UTC; the interval is the UTC day before) through `queryAll`,
lands each stream in one transaction, and publishes the raw_salesforce Asset that
`baton_transform` waits on. Credentials come only from the `salesforce_default` connection
(host = API base URL, login = client id, password = client secret); the warehouse from `warehouse_default` or WAREHOUSE_URL.
"""

from baton.airflow.dags import extract_dag

dag = extract_dag("salesforce", doc_md=__doc__)
