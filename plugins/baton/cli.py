"""`baton`: the one command a user needs.

Each command lives in its own module, which exposes `register(subcommands)`; modules keep
their heavy imports inside the handlers so `baton --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

COMMAND_MODULES = (
    "baton.pipeline",        # run, demo
    "baton.sources.cli",     # extract
    "baton.sandbox.cli",     # sandbox serve / build
    "baton.load.bench",      # bench load
    "baton.report",          # report
    "baton.warehouse_cli",   # warehouse start / stop / url
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baton",
        description="Baton: marketing-automation and CRM data in one warehouse, every funnel leak named.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise
            continue
        module.register(subcommands)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Whatever a command imports, Airflow must find its home under .baton/, never in ~/airflow.
    from baton.airflow_env import airflow_env

    os.environ.update(airflow_env())
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
