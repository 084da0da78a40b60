"""Where things live: the repository, the published warehouse, the work file, the reports."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_EXTRACT = REPO_ROOT / "seeds" / "bank_scrooge.csv"
DBT_PROJECT = REPO_ROOT / "dbt_project.yml"


def dbt_vars(path: Path = DBT_PROJECT) -> dict[str, Any]:
    """Read the ``vars`` of dbt_project.yml: the one place thresholds and settings live, for SQL and Python."""
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("vars", {})


def default_reports_dir(published: Path) -> Path:
    """Return the reports folder beside a warehouse: <dir>/reports or <dir>/<stem>_reports.

    metanprom.duckdb gets <dir>/reports; any other name <dir>/<stem>_reports, so two warehouses
    in one folder never share their reports.
    """
    return published.parent / ("reports" if published.name == "metanprom.duckdb" else f"{published.stem}_reports")


def wal_path(database: Path) -> Path:
    """Return the write-ahead log DuckDB keeps beside ``database`` while a writer has it open (<name>.wal)."""
    return database.with_name(database.name + ".wal")


Settings = TypeVar("Settings")


def settings_from_vars(cls: type[Settings], names: dict[str, str]) -> Settings:
    """Build a settings dataclass from dbt vars (field -> var name), each cast to its default's type.

    A var that is not set keeps the field's default; a tuple default reads a list var.
    """
    variables = dbt_vars()
    defaults = cls()
    values: dict[str, Any] = {}
    for field_name, var_name in names.items():
        default = getattr(defaults, field_name)
        value = variables.get(var_name, default)
        values[field_name] = (
            tuple(type(default[0])(item) for item in value) if isinstance(default, tuple) else type(default)(value)
        )
    return cls(**values)


@dataclass(frozen=True)
class Paths:
    """The files one build reads and writes."""

    published_db: Path
    work_dir: Path
    reports_dir: Path
    dbt_target_dir: Path

    @property
    def work_db(self) -> Path:
        """The file the build writes; same name as the published one so DuckDB's catalog name matches."""
        return self.work_dir / self.published_db.name

    @property
    def work_reports(self) -> Path:
        """Reports of the build in progress; moved into reports_dir when the build is published."""
        return self.work_dir / "reports"

    @classmethod
    def from_env(cls) -> Paths:
        """Resolve paths from METANPROM_DB, METANPROM_REPORTS (default: beside the warehouse) and DBT_TARGET_PATH."""
        published = Path(os.environ.get("METANPROM_DB") or REPO_ROOT / "metanprom.duckdb").resolve()
        reports = Path(os.environ.get("METANPROM_REPORTS") or default_reports_dir(published)).resolve()
        target = Path(os.environ.get("DBT_TARGET_PATH") or REPO_ROOT / "target").resolve()
        # The work file sits next to the published one: os.replace is atomic only on one filesystem.
        return cls(published, published.parent / f".metanprom-build-{published.name}", reports, target)
