"""`baton sandbox serve | build`: the fake vendor APIs over a generated world.

    baton sandbox serve --port 8765 --people 3000 --seed 7
    baton sandbox serve --world path/to/world.sqlite --fault-rate 0.05 --faults rate_limit,slow
    baton sandbox build --people 60000 --out bench.sqlite --truth truth/
    baton sandbox build --people 500 --hubspot-firmographics company_only

Worlds are cached under .baton/sandbox/world-<people>-<seed>[-<hubspot firmographics>].sqlite, so a second `serve`
starts at once. `serve` prints the line `sandbox listening on <url>` first, then the
Airflow connections that point at it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

DEFAULT_PEOPLE = 3000
DEFAULT_SEED = 7
DEFAULT_HUBSPOT_FIRMOGRAPHICS = "as_generated"


def register(subcommands) -> None:
    parser = subcommands.add_parser("sandbox", help="serve or build the sandbox (a generated world behind fake vendor APIs)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    serve = actions.add_parser("serve", help="serve Salesforce, Marketo and HubSpot APIs over a world")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    _world_options(serve)
    serve.add_argument("--world", type=Path, help="serve this world file instead of a cached generated one")
    serve.add_argument("--as-of", help="show the world as of this instant (default: the world's end)")
    serve.add_argument("--fault-rate", type=float, default=0.0, help="share of API requests that fail (0-1)")
    serve.add_argument("--faults", help="fault kinds, comma-separated: rate_limit,server_error,slow,"
                                        "drop_connection,token_expiry (default: all)")
    serve.add_argument("--fault-seed", type=int, default=0)
    serve.add_argument("--require-credentials", metavar="ID:SECRET",
                       help="accept only this client id and secret (Salesforce, Marketo) and SECRET as the "
                            "HubSpot token; default: any")
    serve.set_defaults(handler=_serve)

    build = actions.add_parser("build", help="generate a world (and optionally its planted truth)")
    _world_options(build)
    build.add_argument("--out", type=Path, help="world file (default: the cache under .baton/sandbox/)")
    build.add_argument("--truth", type=Path, help="write the planted truth as JSON lines into this folder")
    build.add_argument("--force", action="store_true", help="rebuild even if the world file exists")
    build.set_defaults(handler=_build)


def _world_options(parser) -> None:
    from baton_sandbox.world_cast import HUBSPOT_FIRMOGRAPHICS

    parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE, help=f"real people in the world (default {DEFAULT_PEOPLE})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generator seed (default {DEFAULT_SEED})")
    parser.add_argument("--hubspot-firmographics", default=DEFAULT_HUBSPOT_FIRMOGRAPHICS,
                        choices=HUBSPOT_FIRMOGRAPHICS,
                        help="where HubSpot keeps company, industry, size and country: on the contact and its "
                             "company (as_generated, the default), only on the associated company, or only on "
                             "the contact")


def cached_world_path(people: int, seed: int, hubspot_firmographics: str = DEFAULT_HUBSPOT_FIRMOGRAPHICS) -> Path:
    from baton.paths import state_path

    variant = "" if hubspot_firmographics == DEFAULT_HUBSPOT_FIRMOGRAPHICS else f"-{hubspot_firmographics}"
    return state_path("sandbox", f"world-{people}-{seed}{variant}.sqlite")


def ensure_world(people: int = DEFAULT_PEOPLE, seed: int = DEFAULT_SEED, out: Path | None = None,
                 force: bool = False, hubspot_firmographics: str = DEFAULT_HUBSPOT_FIRMOGRAPHICS) -> Path:
    """The world file for (people, seed, options), generated once and reused."""
    import time

    from baton_sandbox.world import WorldParams, build_world

    path = out or cached_world_path(people, seed, hubspot_firmographics)
    if path.exists() and not force:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".building-{os.getpid()}")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    started = time.monotonic()
    store = build_world(partial, people=people, seed=seed,
                        params=WorldParams(hubspot_firmographics=hubspot_firmographics))
    store.close()
    partial.replace(path)  # whole worlds only: a crash mid-build never leaves a half world in the cache
    print(f"built world of {people} people (seed {seed}) in {time.monotonic() - started:.1f}s: {path}",
          file=sys.stderr, flush=True)
    return path


def _serve(args) -> int:
    import signal
    import threading

    from baton_sandbox.faults import FaultPlan
    from baton_sandbox.server import SandboxServer

    world = args.world if args.world else ensure_world(args.people, args.seed,
                                                        hubspot_firmographics=args.hubspot_firmographics)
    if not world.exists():
        print(f"no world at {world}", file=sys.stderr)
        return 2
    credentials = None
    if args.require_credentials:
        client_id, _, secret = args.require_credentials.partition(":")
        if not client_id or not secret:
            print("--require-credentials takes ID:SECRET", file=sys.stderr)
            return 2
        credentials = {"salesforce": (client_id, secret), "marketo": (client_id, secret), "hubspot": secret}
    faults = FaultPlan.parse(args.fault_rate, args.faults, seed=args.fault_seed) if args.fault_rate > 0 else None
    server = SandboxServer(world, host=args.host, port=args.port, as_of=args.as_of, faults=faults,
                           credentials=credentials).start()
    print(f"sandbox listening on {server.url}", flush=True)
    login, secret = (credentials["salesforce"] if credentials else ("sandbox-client", "sandbox-secret"))
    for conn_id, fields in (("SALESFORCE_DEFAULT", {"login": login, "password": secret}),
                            ("MARKETO_DEFAULT", {"login": login, "password": secret}),
                            ("HUBSPOT_DEFAULT", {"password": secret})):
        print(f"AIRFLOW_CONN_{conn_id}='{json.dumps({'conn_type': 'http', 'host': server.url, **fields})}'", flush=True)
    print(f"world {world} as of {server.clock.isoformat()}; Ctrl-C stops", flush=True)

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _build(args) -> int:
    path = ensure_world(args.people, args.seed, out=args.out, force=args.force,
                        hubspot_firmographics=args.hubspot_firmographics)
    print(path)
    if args.truth:
        from baton_sandbox.store import WorldStore
        from baton_sandbox.truth import export_truth

        store = WorldStore(path, readonly=True)
        try:
            print(export_truth(store, args.truth))
        finally:
            store.close()
    return 0
