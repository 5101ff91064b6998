"""`baton warehouse`: start, stop, locate the warehouse, grant its roles; `baton forget`: erase a person."""

from __future__ import annotations


def register(subcommands) -> None:
    parser = subcommands.add_parser("warehouse", help="start, stop or print the warehouse (embedded unless WAREHOUSE_URL is set)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("start", help="start the embedded PostgreSQL (data in .baton/pgdata)").set_defaults(handler=_start)
    actions.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(handler=_stop)
    actions.add_parser("url", help="print the warehouse URL Baton uses").set_defaults(handler=_url)
    grant = actions.add_parser("grant", help="create or update Baton's roles and privileges (idempotent); with"
                               " --reader, a login role reading masked marts scoped to --team")
    grant.add_argument("--reader", metavar="NAME", help="a scoped reader role to create or update")
    grant.add_argument("--team", action="append", default=[], metavar="TEAM",
                       help="a dim_owners.team the reader sees (repeatable; none: every row)")
    grant.set_defaults(handler=_grant)
    # `baton forget` is warehouse administration, so it is registered beside `baton warehouse`.
    forget = subcommands.add_parser("forget", help="erase one person from every raw and derived table and keep"
                                    " them from landing again (only a hash is kept)")
    who = forget.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", metavar="ADDRESS")
    who.add_argument("--person-id", metavar="ID", help="a dim_people.person_id")
    forget.add_argument("--by", metavar="WHO", help="who asked, for the audit row (default: the OS user)")
    forget.set_defaults(handler=_forget)


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


def _grant(args) -> int:
    from baton import security, warehouse

    url = warehouse.warehouse_url()
    if args.reader:
        done = security.grant_reader(url, args.reader, args.team)
        print(f"{done['reader']}: reads masked marts; teams: {', '.join(done['teams']) or 'all'}")
        return 0
    if args.team:
        raise SystemExit("--team needs --reader NAME")
    done = security.grant(url)
    print(f"roles: {', '.join(done['roles'])}; masked views: {done['views']}; row policies: {done['policies']}")
    return 0


def _forget(args) -> int:
    from baton import forget, warehouse

    done = forget.forget(warehouse.warehouse_url(), email=args.email, person_id=args.person_id, by=args.by)
    print(f"erasure {done['erasure_id']}: {done['raw_records']} raw records and {done['derived_rows']} derived rows"
          f" removed; {done['keys_suppressed']} identifiers suppressed (hashes only)")
    return 0
