"""The data dictionary: dbt's documentation site as one self-contained HTML file.

`write_data_dictionary(warehouse_url, out_dir, as_of)` runs `dbt docs generate --static` on the
warehouse (the catalog reads the built relations' columns and types from it) and copies the
single file dbt writes, `static_index.html` (manifest and catalog inlined, no server needed),
to `out_dir/data-dictionary.html`. Every model, column description, test, semantic model,
metric, saved query and exposure is in it, with the lineage graph.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger("baton.notify.dictionary")

FILE_NAME = "data-dictionary.html"


@dataclass
class DataDictionary:
    path: Path
    seconds: float
    bytes: int


def write_data_dictionary(warehouse_url: str, out_dir: str | Path, as_of: datetime | str | None = None,
                          *, target_name: str = "docs") -> DataDictionary:
    """Generate dbt's static docs for the warehouse into out_dir/data-dictionary.html; time it."""
    from baton.build.dbt import dbt
    from baton.instants import iso_z
    from baton.paths import state_path

    started = time.monotonic()
    vars = {"as_of": as_of if isinstance(as_of, str) or as_of is None else iso_z(as_of, micros=True)}
    result = dbt(["docs", "generate", "--static"], warehouse_url, vars, target_name=target_name)
    if not result.success:
        raise RuntimeError(f"dbt docs generate failed: {result.exception}")
    source = state_path("dbt", target_name, "target", "static_index.html")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / FILE_NAME
    shutil.copyfile(source, path)
    seconds = round(time.monotonic() - started, 2)
    log.info("data dictionary: %s (%d bytes) in %.1fs", path, path.stat().st_size, seconds)
    return DataDictionary(path=path, seconds=seconds, bytes=path.stat().st_size)
