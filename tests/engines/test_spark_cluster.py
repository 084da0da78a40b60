"""The spark target on a real standalone cluster: a master and two workers as separate processes.

Runs ``python -m metanprom engines --engines spark-cluster`` in its own process (a Python process
keeps its first SparkSession, and the other engine tests hold a local one): DuckDB reference,
cluster start, dbt seed + build and the Python steps on the cluster, every mart compared with
DuckDB's, tasks per executor from Spark's event log, everything stopped.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from metanprom.paths import REPO_ROOT


def _spark_daemons() -> list[str]:
    """Command lines of running Spark master/worker processes (from /proc: no `ps` needed)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        if "org.apache.spark.deploy" in args:
            found.append(args)
    return sorted(found)


def test_every_mart_equals_duckdb_on_a_standalone_cluster(tmp_path: Path) -> None:
    before = _spark_daemons()
    report = REPO_ROOT / "reports" / "engines_cluster.md"
    command = [sys.executable, "-m", "metanprom", "engines", "--engines", "spark-cluster", "--report", str(report)]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=1800)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "2 workers alive" in result.stdout
    text = report.read_text(encoding="utf-8")
    equal = re.search(r"## spark-cluster vs duckdb: (\d+) of (\d+) tables equal", text)
    assert equal and equal.group(1) == equal.group(2) and int(equal.group(2)) >= 27
    tasks = {
        int(executor): int(count.replace(",", "")) for executor, count in re.findall(r"\| (\d+) \| ([\d,]+) \|", text)
    }
    assert len(tasks) >= 2 and all(count > 0 for count in tasks.values()), text  # work ran on both workers' executors
    assert _spark_daemons() == before  # the master and workers were stopped
