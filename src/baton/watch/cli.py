"""`baton watch --at INSTANT [--write | --dry-run]`: one hour of the SLA watch, as the DAG runs it."""

from __future__ import annotations

import sys
from datetime import timedelta


def register(subcommands) -> None:
    parser = subcommands.add_parser(
        "watch", help="one hour of the SLA watch: extract, build the leak rules, write a CRM task per new breach",
        description="Run the hour ending at INSTANT (UTC) against the configured connections and warehouse: "
                    "extract what the watch's models read, build them as of INSTANT, and create one CRM task per "
                    "open handoff newly overdue (SLA breached with no sales touch, or a black hole). Prints one "
                    "line per task created, or that would be created in dry-run. Write-back follows the Airflow "
                    "Variable baton_write_back (off, dry-run, on; default off) unless --write or --dry-run says.")
    parser.add_argument("--at", metavar="INSTANT",
                        help="the end of the hour to watch, a whole hour in UTC (default: the last whole hour)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the tasks into the CRM (write-back on for this run)")
    mode.add_argument("--dry-run", action="store_true", help="record and print the tasks, write nothing")
    parser.set_defaults(handler=_watch)


def _hour_end(text: str | None):
    from baton.instants import now, parse_instant

    if not text:
        current = now()
        return current.replace(minute=0, second=0, microsecond=0)
    instant = parse_instant(text)
    if (instant.minute, instant.second, instant.microsecond) != (0, 0, 0):
        raise ValueError(f"--at must be a whole hour in UTC (the end of the hour to watch), e.g. "
                         f"{(instant.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)):%Y-%m-%dT%H:%M:%SZ};"
                         f" got {text!r}")
    return instant


def _watch(args) -> int:
    from baton.build.lease import WarehouseBusy
    from baton.sources.runner import SourceRunError
    from baton.warehouse import warehouse_url
    from baton.watch.hour import WatchBusy, run_hour
    from baton.watch.models import WatchBuildFailed
    from baton.watch.settings import BadSetting, write_back_mode

    try:
        as_of = _hour_end(args.at)
        mode = write_back_mode("on" if args.write else "dry-run" if args.dry_run else None)
        counts = run_hour(warehouse_url(), as_of, mode=mode, out=print)
    except (ValueError, BadSetting) as bad:
        print(f"baton watch: {bad}", file=sys.stderr)
        return 2
    except (SourceRunError, WatchBuildFailed, WatchBusy, WarehouseBusy, LookupError) as failed:
        print(f"baton watch: {failed}", file=sys.stderr)
        return 1
    print(f"hour ending {counts['as_of']}: {counts['seconds']}s (dbt build {counts['build_seconds']}s)")
    return 1 if counts["failed"] else 0
