"""`baton warehouse`: start, stop or locate the warehouse."""

from __future__ import annotations


def register(subcommands) -> None:
    parser = subcommands.add_parser("warehouse", help="start, stop or print the warehouse (embedded unless WAREHOUSE_URL is set)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("start", help="start the embedded PostgreSQL (data in .baton/pgdata)").set_defaults(handler=_start)
    actions.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(handler=_stop)
    actions.add_parser("url", help="print the warehouse URL Baton uses").set_defaults(handler=_url)


def _start(args) -> int:
    from baton import warehouse

    print(warehouse.start_embedded())
    return 0


def _stop(args) -> int:
    from baton import warehouse

    print("stopped" if warehouse.stop_embedded() else "not running")
    return 0


def _url(args) -> int:
    from baton import warehouse

    print(warehouse.warehouse_url())
    return 0
