"""`baton extract SOURCE`: one source into the warehouse, outside Airflow, a progress bar per stream.

Credentials come from the same `AIRFLOW_CONN_*` variables the DAGs use (salesforce_default,
marketo_default, hubspot_default); `--sandbox URL` points every source at a sandbox server
with throwaway credentials instead. The warehouse is WAREHOUSE_URL or the embedded one.
"""

from __future__ import annotations

SANDBOX_CREDENTIALS = {"login": "baton-sandbox-client", "password": "baton-sandbox-secret"}


def register(subcommands) -> None:
    parser = subcommands.add_parser("extract", help="extract one source (or all) into its raw schema")
    from baton.sources.registry import source_names

    parser.add_argument("source", choices=(*source_names(), "all"))
    parser.add_argument("--start", help="backfill start of a first run (default BATON_START_DATE or 2026-01-01)")
    parser.add_argument("--end", help="extract up to this instant (default: now)")
    parser.add_argument("--streams", help="comma-separated stream names (default: all of the source's)")
    parser.add_argument("--sandbox", metavar="URL", help="use a sandbox server at URL for every source")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=_extract)


def _instant(text: str | None):
    if not text:
        return None
    from baton.instants import parse_instant

    return parse_instant(text)


def _extract(args) -> int:
    import logging

    from baton import warehouse
    from baton.connections import ConnectionFields
    from baton.sources import runner

    log = logging.getLogger("baton.extract")
    from baton.sources.registry import get_source, source_names

    sources = source_names() if args.source == "all" else (args.source,)
    url = warehouse.warehouse_url()
    failed = 0
    for source in sources:
        if args.sandbox:
            connection = ConnectionFields(get_source(source).connection_id, "http", args.sandbox,
                                          **SANDBOX_CREDENTIALS)
        else:
            try:
                connection = runner.source_connection(source)
            except LookupError as missing:
                if args.source != "all":
                    log.error("%s (or pass --sandbox URL)", missing)
                    return 2
                log.warning("%s: source skipped: %s", source, missing)
                continue
        try:
            results = runner.run_source(source, connection, url, _instant(args.start), _instant(args.end),
                                        streams=args.streams.split(",") if args.streams else None,
                                        progress=not args.no_progress)
        except runner.SourceRunError as error:
            log.error("%s", error)
            results = error.results
            failures = error.failures
            failed += 1
        else:
            failures = {}
        for result in results:
            print(f"{source}.{result.stream}: extracted {result.extracted} loaded {result.loaded}"
                  f" rejected {result.rejected} duplicates {result.duplicates} unchanged {result.unchanged}"
                  + (f" beyond-end {result.beyond_end}" if result.beyond_end else ""))
            for warning in result.warnings:
                print(f"{source}.{result.stream}: warning: {warning}")
        for stream, reason in failures.items():
            print(f"{source}.{stream}: FAILED: {reason}")
    return 1 if failed else 0
