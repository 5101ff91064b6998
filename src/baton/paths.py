"""Where Baton keeps its files: the repo's folders and the git-ignored state folder.

Nothing goes to the user's home: the Airflow home, its metadata database, logs, the
embedded warehouse and dbt's target all live under `.baton/` (or `BATON_STATE_DIR`).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(os.environ.get("BATON_REPO_ROOT", Path(__file__).resolve().parents[2]))  # src/baton/paths.py
DAGS_DIR = REPO_ROOT / "dags"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"


def state_dir() -> Path:
    path = Path(os.environ.get("BATON_STATE_DIR", REPO_ROOT / ".baton"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def reports_dir() -> Path:
    """Where the nightly run writes its HTML report and data dictionary: BATON_REPORTS_DIR, else .baton/reports."""
    path = Path(os.environ.get("BATON_REPORTS_DIR") or state_dir() / "reports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_path(*parts: str) -> Path:
    path = state_dir().joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
