"""`baton bench KIND`: benchmarks that print figures (never tests), each beside its reference.

    baton bench load [--records N] [--repeat N]   Baton's loader beside COPY and dlt; last line JSON
    baton bench dbt --people N                    dbt build wall times: full, incremental, full refresh
    baton bench build --people N [--verify]       one night at scale: extract, full refresh, one more day
          [--nightly] [--database D] [--keep]     extracted and built incrementally (then, with --nightly,
                                                  baton run of the world's last day); last line JSON
    baton bench sandbox [--people N | --world F]  records per second the sandbox serves
    baton bench celery --workers N                the scheduled chain's wall time on CeleryExecutor
    baton bench install                           the wheel's install time into a fresh venv, cold and warm cache
    baton bench queries [--explain N]             every query the report, the metrics and analysts run, timed
"""

from __future__ import annotations

import json
from pathlib import Path


def register(subcommands) -> None:
    bench = subcommands.add_parser("bench", help="benchmarks: load, dbt, sandbox (figures, as JSON)")
    kinds = bench.add_subparsers(dest="bench_kind", metavar="KIND")

    load = kinds.add_parser("load", help="Baton's loader vs PostgreSQL COPY vs dlt on the same records")
    load.add_argument("--records", type=int, default=1_000_000, help="how many records (default 1,000,000)")
    load.add_argument("--skip-dlt", action="store_true", help="skip the dlt reference (dlt_rps null)")
    load.add_argument("--file", type=Path, help="use this JSON-lines file of Salesforce records instead")
    load.add_argument("--repeat", type=int, default=1,
                      help="measure COPY and Baton this many times, alternating, and keep each one's best"
                           " (on a shared machine the best run is the least disturbed one)")
    load.set_defaults(handler=_load)

    dbt = kinds.add_parser("dbt", help="dbt build wall times on a sandbox world (full, incremental, full refresh)")
    dbt.add_argument("--people", type=int, default=3000)
    dbt.add_argument("--seed", type=int, default=7)
    dbt.set_defaults(handler=_dbt)

    build = kinds.add_parser("build", help="extract a world, full refresh, one more day extracted and built"
                                           " incrementally: stage times and peak memory, last line JSON")
    build.add_argument("--people", type=int, default=3000)
    build.add_argument("--seed", type=int, default=7)
    build.add_argument("--verify", action="store_true",
                       help="then a full refresh of the same data; every table must equal the incremental build's")
    build.add_argument("--keep", action="store_true", help="keep the database afterwards")
    build.add_argument("--database", help="the database to build in, dropped first (default baton_bench_build_<people>)")
    build.add_argument("--nightly", action="store_true",
                       help="end the two builds a day before the world's end, then run the nightly run"
                            " (baton run) of the last day on that warehouse: its time and each task's")
    build.set_defaults(handler=_build)

    engines = kinds.add_parser("engines", help="the full build of one world on PostgreSQL, DuckDB and Spark side by"
                                               " side (raw landed through each engine's loader); last line JSON")
    engines.add_argument("--people", type=int, default=3000)
    engines.add_argument("--seed", type=int, default=7)
    engines.add_argument("--engines", default="postgres,duckdb,spark", help="which engines, comma-separated")
    engines.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    engines.set_defaults(handler=_engines)

    queries = kinds.add_parser("queries", help="every query of the HTML and terminal reports, the saved queries"
                                               " and an analyst's filters on WAREHOUSE_URL's marts, timed")
    queries.add_argument("--explain", type=int, default=0, help="EXPLAIN ANALYZE the N slowest")
    queries.add_argument("--show", type=int, default=15, help="print the N slowest statements")
    queries.set_defaults(handler=_queries)

    served = kinds.add_parser("sandbox", help="records per second the sandbox serves (server in its own process)")
    served.add_argument("--people", type=int, default=3000)
    served.add_argument("--seed", type=int, default=7)
    served.add_argument("--world", type=Path, help="measure over this world file instead of a cached one")
    served.set_defaults(handler=_sandbox)

    celery = kinds.add_parser("celery", help="the scheduled chain on CeleryExecutor with N workers: first extract"
                                             " task's start to the publish's end, from task_instance")
    celery.add_argument("--workers", type=int, default=2)
    celery.add_argument("--concurrency", type=int, default=2, help="task slots per worker (default 2)")
    celery.add_argument("--people", type=int, default=300, help="world size (default 300, as the test)")
    celery.set_defaults(handler=_celery)

    install = kinds.add_parser("install", help="pip install of the wheel and the two providers into a fresh"
                                               " Python 3.11 venv, with a cold and then a warm pip cache")
    install.add_argument("--python", default="python3.11")
    install.set_defaults(handler=_install)
    bench.set_defaults(handler=lambda args: bench.print_help() or 2)


def _load(args) -> int:
    from baton_sandbox.bench.load import bench_load_command

    return bench_load_command(args)


def _dbt(args) -> int:
    from baton_sandbox.bench.dbt import bench_dbt

    print(json.dumps(bench_dbt(args.people, seed=args.seed)))
    return 0


def _build(args) -> int:
    from baton_sandbox.bench.build import bench_build

    figures = bench_build(args.people, seed=args.seed, verify=args.verify, keep=args.keep, database=args.database,
                          nightly=args.nightly)
    print(json.dumps(figures))
    return 1 if figures.get("differing_rows") else 0


def _engines(args) -> int:
    from baton_sandbox.bench.engines import bench_engines

    figures = bench_engines(args.people, seed=args.seed, engines=tuple(args.engines.split(",")), keep=args.keep)
    print(json.dumps(figures))
    return 0


def _queries(args) -> int:
    from baton_sandbox.bench.queries import bench_queries_command

    return bench_queries_command(args)


def _sandbox(args) -> int:
    from baton_sandbox.bench.server import run
    from baton_sandbox.cli import ensure_world

    world = args.world if args.world else ensure_world(args.people, args.seed)
    print(json.dumps(run(world), indent=2))
    return 0


def _celery(args) -> int:
    from baton_sandbox.bench.celery_chain import bench_celery

    figures = bench_celery(args.workers, concurrency=args.concurrency, people=args.people)
    print(json.dumps(figures))
    return 0 if figures["state"] == "success" else 1


def _install(args) -> int:
    from baton_sandbox.bench.install import bench_install

    print(json.dumps(bench_install(args.python)))
    return 0
