"""Shared fixtures. Each area keeps its own fixtures in tests/fixtures/<area>.py.

Airflow is pointed at the repo's state folder before anything imports it, so the tests
never write to the user's home.
"""

import os

from baton.airflow.environment import airflow_env

os.environ.update(airflow_env())

pytest_plugins = [
    "tests.fixtures.warehouse",
    "tests.fixtures.e2e",
    "tests.fixtures.slack",
    "tests.fixtures.airflow_home",
    "baton_sandbox.testing",
]
