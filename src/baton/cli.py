"""`baton`: the one command a user needs.

Each command lives in its own module, which exposes `register(subcommands)`; modules keep
their heavy imports inside the handlers so `baton --help` stays fast. Installed add-ons add
commands through the `baton.commands` entry-point group (the sandbox brings `sandbox`, `demo`
and `bench`); the product imports none of them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

COMMAND_MODULES = (
    "baton.run",        # run
    "baton.sources.cli",     # extract
    "baton.notify.report",          # report
    "baton.warehouse_cli",   # warehouse start / stop / url / grant, and forget (warehouse administration)
    "baton.metrics",         # metrics query / validate / list
    "baton.build.holidays",  # holidays (business_holidays seed rows from the `holidays` package)
    "baton.watch.cli",       # watch: one hour of the SLA watch with CRM write-back
)
ENTRY_POINT_GROUP = "baton.commands"


def _command_modules():
    from importlib.metadata import entry_points

    yield from COMMAND_MODULES
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        yield entry_point.value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baton",
        description="Baton: marketing-automation and CRM data in one warehouse, every funnel leak named.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _register_dags_folder(subcommands)
    for name in _command_modules():
        importlib.import_module(name).register(subcommands)
    return parser


def _register_dags_folder(subcommands) -> None:
    parser = subcommands.add_parser("dags-folder",
                                    help="print the folder holding Baton's DAG files (for AIRFLOW__CORE__DAGS_FOLDER)")
    parser.set_defaults(handler=_dags_folder)


def _dags_folder(args) -> int:
    from baton.paths import DAGS_DIR

    print(DAGS_DIR)
    return 0


def load_dotenv_file() -> str | None:
    """`.env` in the working directory (or BATON_ENV_FILE): its values fill what the environment leaves unset."""
    from dotenv import find_dotenv, load_dotenv

    path = os.environ.get("BATON_ENV_FILE") or find_dotenv(".env", usecwd=True)
    if path and os.path.isfile(path):
        load_dotenv(path, override=False)
        return path
    return None


def main(argv: list[str] | None = None) -> int:
    load_dotenv_file()
    # Whatever a command imports, Airflow must find its home under .baton/, never in ~/airflow.
    from baton.airflow.environment import airflow_env

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
