"""`baton bench load` measures all three contenders on the same records and ends with its JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_bench_load_prints_the_three_figures_and_a_json_last_line(server_url, tmp_path):
    env = {**os.environ, "WAREHOUSE_URL": server_url, "BATON_STATE_DIR": str(tmp_path)}
    baton = str(Path(sys.executable).parent / "baton")
    run = subprocess.run([baton, "bench", "load", "--records", "3000"], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(summary) == {"records", "baton_rps", "copy_rps", "dlt_rps", "ratio_to_copy", "ratio_to_dlt",
                            "peak_rss_mb"}
    assert summary["records"] == 3000
    assert all(summary[key] > 0 for key in ("baton_rps", "copy_rps", "dlt_rps", "peak_rss_mb"))
    assert abs(summary["ratio_to_copy"] - summary["baton_rps"] / summary["copy_rps"]) < 0.01
    assert (tmp_path / "bench" / "salesforce-lead-3000.jsonl").exists()
