"""The command line starts fast: --help imports none of the heavy libraries a build needs."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO_ROOT

HEAVY = ("great_expectations", "dbt", "sklearn", "pandas", "duckdb", "pyspark", "scipy", "statsmodels")


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from metanprom.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['build', '--help'])\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_build_flags_are_documented() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "metanprom", "build", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for flag in ("--extract", "--debug", "--split-dbt", "--timings"):
        assert flag in result.stdout
