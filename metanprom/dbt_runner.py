"""Running dbt as a subprocess against the work file, and reading its results."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from metanprom.memory import run_measured
from metanprom.paths import REPO_ROOT


class DbtError(Exception):
    """dbt returned a non-zero exit code (a model, a test or the project failed)."""


@dataclass
class DbtResults:
    """Statuses of one dbt invocation, from ``run_results.json``."""

    by_type_and_status: Counter[tuple[str, str]] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def merge(self, other: DbtResults) -> None:
        """Add another invocation's results (the build may run dbt in two steps)."""
        self.by_type_and_status.update(other.by_type_and_status)
        self.warnings += other.warnings
        self.failures += other.failures

    def count(self, resource_type: str, status: str | None = None) -> int:
        """How many nodes of a type (optionally with a status) the run had."""
        return sum(
            n
            for (rtype, rstatus), n in self.by_type_and_status.items()
            if rtype == resource_type and (status is None or rstatus == status)
        )


def _dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(
    args: list[str],
    db_path: Path | None,
    target_dir: Path,
    target: str | None = None,
    log_file: Path | None = None,
) -> DbtResults:
    """Run ``dbt <args>`` in the repository against ``db_path`` (DuckDB) or another ``target``.

    dbt's output streams to the terminal, or into ``log_file`` when one is given (Spark's JVM
    is talkative); on failure the log's last lines are printed.

    Raises:
        DbtError: dbt exited non-zero; its output says which node failed.

    """
    env = dict(os.environ, DBT_TARGET_PATH=str(target_dir))
    if db_path is not None:
        env["METANPROM_DB"] = str(db_path)
    env.setdefault("DBT_LOG_PATH", str(target_dir / "logs"))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    command = [_dbt_executable(), *args, "--profiles-dir", str(REPO_ROOT), "--project-dir", str(REPO_ROOT)]
    if target:
        command += ["--target", target]
    if log_file is None:
        returncode = run_measured(command, cwd=REPO_ROOT, env=env)
    else:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("w", encoding="utf-8") as log:
            returncode = run_measured(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
        if returncode != 0:
            lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
            print("\n".join(line for line in lines[-60:] if not line.startswith("\tat ")), file=sys.stderr)
    results = read_run_results(target_dir / "run_results.json")
    if (target_dir / "run_results.json").exists():  # keep each invocation's results (per-node timings)
        shutil.copyfile(target_dir / "run_results.json", target_dir / f"run_results.{args[0]}.json")
    if returncode != 0:
        detail = "; ".join(results.failures[:10]) or "see dbt's output above"
        raise DbtError(f"`dbt {' '.join(args)}` failed (exit {returncode}): {detail}")
    return results


def read_run_results(path: Path) -> DbtResults:
    """Summarise a dbt ``run_results.json`` by resource type and status."""
    results = DbtResults()
    if not path.exists():
        return results
    payload = json.loads(path.read_text(encoding="utf-8"))
    for result in payload.get("results", []):
        unique_id: str = result.get("unique_id", "")
        resource_type = unique_id.split(".", 1)[0]
        status = str(result.get("status", ""))
        results.by_type_and_status[(resource_type, status)] += 1
        name = unique_id.split(".")[-1] if resource_type != "test" else unique_id.split(".")[2]
        message = result.get("message") or ""
        if status == "warn":
            results.warnings.append(f"{name}: {message}")
        elif status in ("fail", "error"):
            results.failures.append(f"{name}: {message}".strip())
    return results
