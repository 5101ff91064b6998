"""The environment Airflow runs under when Baton drives it in-process.

Airflow's home, its SQLite metadata database and its logs go under `.baton/airflow`; the
DAGs are the repo's dags/ folder; Baton is an installed package, so Airflow's plugins folder is an
empty one of its own (Baton has no Airflow plugin). Values already set in the environment win, so a
team's own Airflow deployment configures itself as usual.
"""

from __future__ import annotations

import os

from baton.paths import DAGS_DIR, state_dir


def airflow_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    home = state_dir() / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    defaults = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # Secrets in connection fields are masked in task logs; keep masking on.
        "AIRFLOW__CORE__HIDE_SENSITIVE_VAR_CONN_FIELDS": "True",
        # Great Expectations writes usage statistics and a flood of info lines otherwise.
        "GX_ANALYTICS_ENABLED": "False",
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    return env
