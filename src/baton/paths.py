"""Where Baton keeps its files: what ships with the package, and the state folder it writes.

The DAG files, the dbt project and the expectation suites ship inside the wheel as package
resources (`baton/dags`, `baton/dbt_project`, `baton/expectations`; pyproject.toml's
force-include). In a source checkout (the editable install `make install` makes) the package is
`src/baton` and the same three folders are the repository's own, top-level ones.

Nothing goes to the user's home: the Airflow home, its metadata database, logs, the embedded
warehouse and dbt's target all live under the state folder: `BATON_STATE_DIR`, else `.baton/`
in the checkout, else `.baton/` in the working directory of an installed package.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

PACKAGE_DIR = Path(str(files("baton")))
_CHECKOUT = PACKAGE_DIR.parents[1] if (PACKAGE_DIR.parents[1] / "pyproject.toml").is_file() else None
# The repository root of a source checkout, None when Baton runs from an installed wheel.
REPO_ROOT = _CHECKOUT


def _shipped(name: str) -> Path:
    packaged = PACKAGE_DIR / name
    if packaged.is_dir():
        return packaged
    if _CHECKOUT is not None and (_CHECKOUT / name).is_dir():
        return _CHECKOUT / name
    raise RuntimeError(f"baton: the package has no {name}/ folder (a wheel built without pyproject.toml's force-include?)")


DAGS_DIR = _shipped("dags")
DBT_PROJECT_DIR = _shipped("dbt_project")
EXPECTATIONS_DIR = _shipped("expectations")
# The dbt graph the transform DAG renders, produced from the project and shipped with it (baton.build.manifest).
RENDER_MANIFEST = DBT_PROJECT_DIR / "render_manifest.json"


def state_dir() -> Path:
    default = (_CHECKOUT or Path.cwd()) / ".baton"
    path = Path(os.environ.get("BATON_STATE_DIR") or default)
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
