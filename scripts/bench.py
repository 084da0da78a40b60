"""Benchmark: the full pipeline on generated extracts, side by side with a pandas baseline.

    python scripts/bench.py [--sizes 10000,1000000,10000000] [--seed 1] [--out reports/benchmark.md]

For each size: generate an extract (scripts/generate_extract.py, not timed as pipeline), run
`python -m metanprom build` on it in a subprocess (stages timed by the build itself, dbt split into
models and tests), then, on the same file, the pandas baseline (scripts/pandas_baseline.py): the
dbt stage's work done the course notebooks' way (read_csv, cleaning rules, groupby breakdowns,
signals, itertools combinations of signs filtered with boolean masks, greedy selection, the data
tests' checks), and the hypothesis tests with scipy, each part timed. Peak RSS is the largest
resident set of the run's processes (getrusage of the children). Writes a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIPELINE_STAGES = [
    "load",
    "dbt models",
    "dbt tests",
    "statistics",
    "churn risk",
    "data quality",
    "build info and BI file",
    "dashboard",
    "publish",
]

_MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
completed = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
print(json.dumps({"returncode": completed.returncode, "seconds": time.perf_counter() - started,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "stderr": completed.stderr[-3000:]}))
"""


def _measured(command: list[str], env: dict[str, str]) -> dict:
    output = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(output.stdout)


def run(sizes: list[int], seed: int, out: Path) -> str:
    """Benchmark every size; return the Markdown report (also written to ``out``)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="metanprom-bench-") as tmp:
        for size in sizes:
            work = Path(tmp) / str(size)
            work.mkdir()
            extract = work / "extract.csv"
            print(f"==> {size:,} clients: generating", flush=True)
            generated = _measured(
                [
                    sys.executable,
                    str(REPO / "scripts" / "generate_extract.py"),
                    "--clients",
                    str(size),
                    "--seed",
                    str(seed),
                    "--out",
                    str(extract),
                ],
                dict(os.environ),
            )
            env = dict(
                os.environ,
                METANPROM_DB=str(work / "warehouse.duckdb"),
                METANPROM_REPORTS=str(work / "reports"),
                DBT_TARGET_PATH=str(work / "target"),
                DBT_LOG_PATH=str(work / "logs"),
                METANPROM_EXTRACT=str(extract),
            )
            print(f"==> {size:,} clients: pipeline", flush=True)
            pipeline = _measured(
                [sys.executable, "-m", "metanprom", "build", "--split-dbt", "--timings", str(work / "timings.json")],
                env,
            )
            if pipeline["returncode"] != 0:
                raise SystemExit(f"pipeline failed at {size:,} clients:\n{pipeline['stderr']}")
            stages = json.loads((work / "timings.json").read_text(encoding="utf-8"))
            print(f"==> {size:,} clients: pandas baseline", flush=True)
            baseline = _measured(
                [
                    sys.executable,
                    "-c",
                    f"import json, sys; sys.path[:0] = [{str(REPO)!r}, {str(REPO / 'scripts')!r}]; import pandas_baseline; "
                    f"print(json.dumps(pandas_baseline.run({str(extract)!r}).seconds), file=sys.stderr)",
                ],
                env,
            )
            pandas_times = json.loads(baseline["stderr"].strip().splitlines()[-1])
            rows.append((size, generated, stages, pipeline, pandas_times, baseline))

    header = [
        "clients",
        "generate s",
        *[f"{s} s" for s in PIPELINE_STAGES],
        "pipeline total s",
        "peak RSS MB",
        "pandas load s",
        "pandas marts s",
        "pandas checks s",
        "pandas hypothesis tests s",
        "pandas total s",
        "pandas peak RSS MB",
        "pandas (load+marts+checks) / (load+dbt models+dbt tests)",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for size, generated, stages, pipeline, pandas_times, baseline in rows:
        ours = stages.get("load", 0) + stages.get("dbt models", 0) + stages.get("dbt tests", 0)
        theirs = pandas_times["load"] + pandas_times["marts"] + pandas_times["checks"]
        cells = [
            f"{size:,}",
            f"{generated['seconds']:.1f}",
            *[f"{stages.get(s, 0):.1f}" for s in PIPELINE_STAGES],
            f"{pipeline['seconds']:.1f}",
            f"{pipeline['peak_rss_mb']:.0f}",
            f"{pandas_times['load']:.1f}",
            f"{pandas_times['marts']:.1f}",
            f"{pandas_times['checks']:.1f}",
            f"{pandas_times['tests']:.1f}",
            f"{baseline['seconds']:.1f}",
            f"{baseline['peak_rss_mb']:.0f}",
            f"{theirs / ours:.2f}x",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    totals = {size: pipeline["seconds"] for size, _, _, pipeline, _, _ in rows}
    notes = []
    if 1_000_000 in totals and 10_000_000 in totals:
        notes.append(f"time(10 M) / time(1 M) = {totals[10_000_000] / totals[1_000_000]:.1f}")
    largest = rows[-1]
    dominant = max(PIPELINE_STAGES, key=lambda s: largest[2].get(s, 0))
    notes.append(f"dominant stage at {largest[0]:,} clients: {dominant} ({largest[2].get(dominant, 0):.1f} s)")
    report = "\n".join(
        [
            "# Benchmark",
            "",
            f"Machine: {os.cpu_count()} cores; seed {seed}; times in seconds, measured in one run (`make bench`).",
            "Pipeline total = the `python -m metanprom build` process (Python start-up included). The pandas baseline",
            "(scripts/pandas_baseline.py) does the dbt stage's work the course notebooks' way on the same file: load,",
            "marts (cleaning, churn by feature, signals, 2- and 3-sign candidates, greedy selection, members, the other",
            "breakdowns) and checks (the data tests' equivalents); its hypothesis tests correspond to the statistics",
            "stage. The last column is the pandas load + marts + checks time divided by the pipeline's load + dbt models",
            "+ dbt tests time (the same work on both sides).",
            "",
            *lines,
            "",
            *[f"- {note}" for note in notes],
            "",
        ]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    return report


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes", default="10000,1000000", help="comma-separated client counts (add 10000000 for 10 M)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "benchmark.md")
    args = parser.parse_args()
    print(run([int(size) for size in args.sizes.split(",")], args.seed, args.out))


if __name__ == "__main__":
    main()
