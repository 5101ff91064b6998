"""`baton demo`: the nightly pipeline over the sandbox, on the embedded warehouse unless WAREHOUSE_URL is set.

Builds (once) and serves a sandbox world, points every source's connection at it, runs
`baton run` for the night after the world's end, then prints what landed, what was built and
the leak report.
"""

from __future__ import annotations

import json
import os
import time
from datetime import date, datetime, timedelta, timezone

from baton.run import run_nightly, summarize


def register(subcommands) -> None:
    parser = subcommands.add_parser(
        "demo", help="start the sandbox, point the connections at it, run the pipeline, print the result")
    parser.add_argument("--people", type=int, default=3000, help="size of the sandbox world (default 3000 people)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the sandbox world (default 7)")
    parser.add_argument("--date", type=date.fromisoformat, default=None,
                      help="the night to run (default: the end of the sandbox world's history)")
    parser.set_defaults(handler=_demo_command)


def demo_environment(server_url: str) -> dict[str, str]:
    """Airflow connections (JSON form) pointing every source at the sandbox."""
    def conn(**fields) -> str:
        return json.dumps({"conn_type": "http", "host": server_url, **fields})

    return {
        "AIRFLOW_CONN_SALESFORCE_DEFAULT": conn(login="baton-demo-client", password="baton-demo-secret"),
        "AIRFLOW_CONN_MARKETO_DEFAULT": conn(login="baton-demo-client", password="baton-demo-secret"),
        "AIRFLOW_CONN_HUBSPOT_DEFAULT": conn(password="baton-demo-private-app-token"),
    }


def _demo_command(args) -> int:
    from baton_sandbox.cli import ensure_world
    from baton_sandbox.server import SandboxServer

    started = time.monotonic()
    print(f"baton demo: sandbox world of {args.people:,} people (seed {args.seed})")
    world_path = ensure_world(people=args.people, seed=args.seed)
    with SandboxServer(world_path) as server:
        world_end = datetime.fromisoformat(server.world_end.replace("Z", "+00:00"))
        run_date = args.date or (world_end - timedelta(microseconds=1)).date() + timedelta(days=1)
        server.set_clock(datetime.combine(run_date, datetime.min.time(), tzinfo=timezone.utc))
        print(f"baton demo: sandbox APIs (Salesforce, Marketo, HubSpot) at {server.url}")
        env = dict(os.environ)
        env.update(demo_environment(server.url))
        # A first run backfills from BATON_START_DATE: take in the sandbox's whole history
        # (its customers' and accounts' records go back before the world's six months).
        world_start = datetime.fromisoformat(server.world_start.replace("Z", "+00:00"))
        env.setdefault("BATON_START_DATE", (world_start - timedelta(days=730)).date().isoformat())
        result = run_nightly(run_date, env)
    if result["ok"]:
        summarize(result["warehouse_url"])
        _print_report(result["warehouse_url"])
    print(f"\nbaton demo: {'done' if result['ok'] else 'FAILED'} in {time.monotonic() - started:.0f}s"
          f" (warehouse: {result['warehouse_url']})")
    return 0 if result["ok"] else 1


def _print_report(warehouse_url: str) -> None:
    try:
        from baton.notify.report import print_report
    except ModuleNotFoundError:
        return
    print_report(warehouse_url)  # on every engine (tests/e2e/test_engines_sameness.py)
