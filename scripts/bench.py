"""Benchmark: the full pipeline on generated extracts, side by side with a pandas baseline.

    python scripts/bench.py [--sizes 10000,1000000,10000000] [--seed 1] [--pandas-max 10000000]
                            [--out reports/benchmark.md] [--projection-from reports/benchmark.json]

For each size: generate an extract (scripts/generate_extract.py, not timed as pipeline), run
`python -m metanprom build` on it in a subprocess (every stage timed by the build itself, dbt split
into models and tests; the disk used by the run's work folder, DuckDB's spill files included, is
sampled every second), then, on the same file, the pandas baseline (scripts/pandas_baseline.py):
the same work done the course notebooks' way - load, the dbt models' marts, the data tests' checks,
the hypothesis tests, the re-derived segment stability and the churn-risk models with the call
list - each part timed. Peak RSS is the largest resident set of one process of the run (getrusage
of the children). Above ``--pandas-max`` clients the baseline is not run; its memory is projected
from the measured sizes (a straight line through the two largest), this run's or, with
``--projection-from``, an earlier run's JSON (e.g. 1 M and 10 M, for a 100 M run). Writes a Markdown report.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIPELINE_STAGES = [
    "load",
    "dbt models",
    "dbt tests",
    "statistics",
    "churn risk",
    "statistics and churn risk",
    "data quality",
    "build info and BI file",
    "dashboard",
    "publish",
]
PANDAS_PARTS = ["load", "marts", "checks", "tests", "stability", "risk"]
GIB = 1024**3  # the report's sizes are binary (GiB)
GB = 10**9  # the targets' limits are decimal GB, as DuckDB's `3GB` is


def gigabytes(mib: float) -> float:
    """Decimal gigabytes (GB, the unit of the targets' limits) of ``mib`` MiB."""
    return mib * 2**20 / GB


_MEASURE = """
import json, os, resource, subprocess, sys, time
started = time.perf_counter()
with open(os.environ.get("BENCH_LOG", os.devnull), "w") as log:  # the step's output, read when it fails
    completed = subprocess.run(sys.argv[1:], stdout=log, stderr=subprocess.PIPE, text=True)
print(json.dumps({"returncode": completed.returncode, "seconds": time.perf_counter() - started,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "stderr": completed.stderr[-3000:]}))
"""


class DiskSampler:
    """Largest size (bytes) of a folder while a step runs, sampled every ``interval`` seconds.

    ``peak_at``: seconds from the start to the sample that saw the peak; ``samples``: every
    (seconds from the start, bytes) seen, for the peak of each stage (``stage_peaks``).
    """

    def __init__(self, folder: Path, interval: float = 1.0) -> None:
        self.folder, self.interval, self.peak, self.peak_at = folder, interval, 0, 0.0
        self.samples: list[tuple[float, int]] = []
        self._started = 0.0  # set when sampling starts (__enter__)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _size(self) -> int:
        total = 0
        for root, _, files in os.walk(self.folder):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except OSError:  # a spill file removed while walking
                    pass
        return total

    def _sample(self) -> None:
        size, moment = self._size(), time.perf_counter() - self._started
        self.samples.append((moment, size))
        if size > self.peak:
            self.peak, self.peak_at = size, moment

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> DiskSampler:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def stage_at(stages: dict[str, float], total: float, moment: float) -> str:
    """Name the stage running ``moment`` seconds into a build of ``total`` seconds.

    ``stages`` are the build's stages in order with their seconds; the seconds not in any stage
    (Python start-up) are taken to come first.
    """
    elapsed = total - sum(stages.values())
    for name, seconds in stages.items():
        elapsed += seconds
        if moment <= elapsed:
            return name
    return "summary"


def stage_peaks(stages: dict[str, float], total: float, samples: list[tuple[float, int]]) -> dict[str, int]:
    """The largest sample (bytes) seen in each stage (``stage_at``), stages in the order first seen."""
    peaks: dict[str, int] = {}
    for moment, size in samples:
        stage = stage_at(stages, total, moment)
        peaks[stage] = max(peaks.get(stage, 0), size)
    return peaks


def _measured(command: list[str], env: dict[str, str]) -> dict:
    output = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(output.stdout)


def _generate(size: int, seed: int, extract: Path) -> dict:
    script = str(REPO / "scripts" / "generate_extract.py")
    command = [sys.executable, script, "--clients", str(size), "--seed", str(seed), "--out", str(extract)]
    return _measured(command, dict(os.environ))


def _pipeline(work: Path, extract: Path) -> tuple[dict, dict, int]:
    env = dict(
        os.environ,
        METANPROM_DB=str(work / "warehouse.duckdb"),
        METANPROM_REPORTS=str(work / "reports"),
        DBT_TARGET_PATH=str(work / "target"),
        DBT_LOG_PATH=str(work / "logs"),
        METANPROM_EXTRACT=str(extract),
    )
    timings = work / "timings.json"
    env["BENCH_LOG"] = str(work / "pipeline.log")
    with DiskSampler(work) as disk:
        run = _measured([sys.executable, "-m", "metanprom", "build", "--split-dbt", "--timings", str(timings)], env)
    if run["returncode"] != 0:
        output = (work / "pipeline.log").read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        raise SystemExit(f"pipeline failed on {extract}:\n" + "\n".join(output) + f"\n{run['stderr']}")
    payload = json.loads(timings.read_text(encoding="utf-8"))
    run["stage_peak_mb"] = payload["peak_rss_mb"]
    run["disk_peak_stage"] = stage_at(payload["seconds"], run["seconds"], disk.peak_at)
    extract_bytes = extract.stat().st_size
    run["disk_stage_peaks"] = {
        stage: max(0, size - extract_bytes)
        for stage, size in stage_peaks(payload["seconds"], run["seconds"], disk.samples).items()
    }
    return run, payload["seconds"], disk.peak - extract.stat().st_size


def _pandas(work: Path, extract: Path) -> tuple[dict, dict]:
    code = (
        f"import json, sys; sys.path[:0] = [{str(REPO)!r}, {str(REPO / 'scripts')!r}]; import pandas_baseline; "
        f"from pathlib import Path; result = pandas_baseline.run({str(extract)!r}, out=Path({str(work / 'pandas')!r})); "
        "print(json.dumps(result.seconds), file=sys.stderr)"
    )
    run = _measured([sys.executable, "-c", code], dict(os.environ))
    if run["returncode"] != 0:
        raise SystemExit(f"pandas baseline failed on {extract}:\n{run['stderr']}")
    return run, json.loads(run["stderr"].strip().splitlines()[-1])


def run(sizes: list[int], seed: int, out: Path, pandas_max: int, earlier: list[dict] | None = None) -> str:
    """Benchmark every size; return the Markdown report (also written to ``out``)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="metanprom-bench-") as tmp:
        for size in sizes:
            work = Path(tmp) / str(size)
            work.mkdir()
            extract = work / "extract.csv"
            print(f"==> {size:,} clients: generating", flush=True)
            generated = _generate(size, seed, extract)
            print(f"==> {size:,} clients: pipeline", flush=True)
            pipeline, stages, disk = _pipeline(work, extract)
            print(f"    {pipeline['seconds']:.1f} s, peak RSS {pipeline['peak_rss_mb']:.0f} MB", flush=True)
            baseline, pandas_times = None, {}
            if size <= pandas_max:
                print(f"==> {size:,} clients: pandas baseline", flush=True)
                baseline, pandas_times = _pandas(work, extract)
                print(f"    {baseline['seconds']:.1f} s, peak RSS {baseline['peak_rss_mb']:.0f} MB", flush=True)
            rows.append(
                {
                    "size": size,
                    "generated": generated,
                    "stages": stages,
                    "pipeline": pipeline,
                    "disk": disk,
                    "extract_bytes": extract.stat().st_size,
                    "pandas": pandas_times,
                    "baseline": baseline,
                }
            )
            shutil.rmtree(work, ignore_errors=True)  # the next size starts with the disk this one used
    report = render(rows, seed, earlier)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    (out.with_suffix(".json")).write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")
    return report


def _projected_pandas_gib(rows: list[dict], size: int) -> float | None:
    measured = sorted((row["size"], row["baseline"]["peak_rss_mb"] / 1024) for row in rows if row["baseline"])
    if len(measured) < 2:
        return None
    (n1, m1), (n2, m2) = measured[-2:]
    return m2 + (m2 - m1) / (n2 - n1) * (size - n2)


def _shares(rows: list[dict]) -> list[str]:
    """Each size's share of the total by stage, and the stages where memory and disk peaked."""
    shares = ["", "Share of the pipeline total by stage (the rest is Python start-up and the summary):", ""]
    for row in rows:
        total = row["pipeline"]["seconds"]
        parts = ", ".join(f"{s} {row['stages'].get(s, 0) / total:.0%}" for s in PIPELINE_STAGES if row["stages"].get(s))
        shares.append(f"- {row['size']:,}: {parts}")
        peaks = row["pipeline"].get("stage_peak_mb", {})
        if peaks:
            top = max(peaks.values())
            stage = next(name for name, value in peaks.items() if value >= top)
            shares.append(f"  peak RSS {top / 1024:.2f} GiB, reached in stage: {stage}")
        if row["pipeline"].get("disk_peak_stage"):
            stage = row["pipeline"]["disk_peak_stage"]
            shares.append(f"  peak disk {row['disk'] / GIB:.1f} GiB above the extract, reached in stage: {stage}")
        if row["pipeline"].get("disk_stage_peaks"):
            parts = ", ".join(f"{name} {size / GIB:.1f}" for name, size in row["pipeline"]["disk_stage_peaks"].items())
            shares.append(f"  peak disk by stage, GiB above the extract: {parts}")
    return shares


def render(rows: list[dict], seed: int, earlier: list[dict] | None = None) -> str:
    """The Markdown report: stage times, shares, the pandas baseline, the targets of issue 21.

    ``earlier``: rows of an earlier run, used only to project the pandas baseline's memory.
    """
    header = ["clients", *[f"{s} s" for s in PIPELINE_STAGES], "pipeline total s", "peak RSS GiB", "disk GiB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"{row['size']:,}", *[f"{row['stages'].get(s, 0):.1f}" for s in PIPELINE_STAGES]]
        cells += [f"{row['pipeline']['seconds']:.1f}", f"{row['pipeline']['peak_rss_mb'] / 1024:.2f}"]
        cells.append(f"{row['disk'] / GIB:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    shares = _shares(rows)
    pandas_header = ["clients", *[f"pandas {p} s" for p in PANDAS_PARTS], "pandas total s", "pandas peak RSS GiB"]
    pandas_header += ["end to end: pandas / pipeline", "statistics: pandas (tests + stability) / pipeline"]
    pandas_lines = ["| " + " | ".join(pandas_header) + " |", "|" + "---|" * len(pandas_header)]
    targets = []
    for row in rows:
        if not row["baseline"]:
            measured = [other for other in [*rows, *(earlier or [])] if other["size"] < row["size"]]
            projected = _projected_pandas_gib(measured, row["size"])
            sizes = sorted({other["size"] for other in measured if other["baseline"]})[-2:]
            source = " and ".join(f"{size:,}" for size in sizes)
            note = f"projected peak RSS {projected:.1f} GiB from {source} clients" if projected else "no projection"
            pandas_lines.append(f"| {row['size']:,} | not run ({note}) |" + " |" * (len(pandas_header) - 2))
            continue
        times, baseline = row["pandas"], row["baseline"]
        end_to_end = baseline["seconds"] / row["pipeline"]["seconds"]
        ours = row["stages"].get("statistics")  # absent when the small build ran it side by side with the risk step
        statistics = (times.get("tests", 0) + times.get("stability", 0)) / ours if ours else None
        cells = [f"{row['size']:,}", *[f"{times.get(p, 0):.1f}" for p in PANDAS_PARTS], f"{baseline['seconds']:.1f}"]
        ratio = f"{statistics:.2f}x" if statistics is not None else "n/a (side by side with risk)"
        cells += [f"{baseline['peak_rss_mb'] / 1024:.2f}", f"{end_to_end:.2f}x", ratio]
        pandas_lines.append("| " + " | ".join(cells) + " |")
        if row["size"] == 10_000_000:
            peak = row["pipeline"]["peak_rss_mb"]
            met = "met" if end_to_end >= 1.5 and gigabytes(peak) <= 3 else "not met"
            targets.append(
                f"- target 1, 10 M end to end >= 1.5x and <= 3 GB: {met} "
                f"({end_to_end:.2f}x, {peak / 1024:.2f} GiB = {gigabytes(peak):.2f} GB)"
            )
            targets.append(
                f"- target 2, statistics at 10 M no slower than pandas/scipy: "
                f"{'met' if statistics is not None and statistics >= 1 else 'not met'} ({ratio})"
            )
    for row in rows:
        if row["size"] >= 100_000_000:
            seconds, peak = row["pipeline"]["seconds"], row["pipeline"]["peak_rss_mb"]
            disk = row["disk"] + row["extract_bytes"]
            met = "met" if seconds <= 1200 and gigabytes(peak) <= 8 and disk / GB <= 40 else "not met"
            targets.append(
                f"- target 3, {row['size']:,} clients <= 20 min, <= 8 GB, disk <= 40 GB: {met} "
                f"({seconds / 60:.1f} min, {peak / 1024:.2f} GiB = {gigabytes(peak):.2f} GB, "
                f"{disk / GIB:.1f} GiB = {disk / GB:.1f} GB disk with the extract)"
            )
        if row["size"] == 10_000:
            targets.append(f"- target 4, shipped-size build <= 8 s: {row['pipeline']['seconds']:.1f} s")
    totals = {row["size"]: row["pipeline"]["seconds"] for row in rows}
    notes = [f"- time(10 M) / time(1 M) = {totals[10**7] / totals[10**6]:.1f}"] if {10**6, 10**7} <= set(totals) else []
    return "\n".join(
        [
            "# Benchmark",
            "",
            f"Machine: {os.cpu_count()} cores; seed {seed}; times in seconds, measured in one run (`make bench`).",
            "Pipeline total = the `python -m metanprom build` process (Python start-up included), extract file to",
            "published warehouse, BI file and every report. Disk = the largest size of the build's work folder",
            "(warehouse, DuckDB spill files, reports) above the extract. The pandas baseline",
            "(scripts/pandas_baseline.py) does the same work the course notebooks' way on the same file: load, marts,",
            "checks (the data tests'), hypothesis tests, the re-derived segment stability, the churn-risk models and",
            "the call list (it has no data-quality report, dashboard or BI file: those count against the pipeline).",
            "",
            *lines,
            *shares,
            "",
            *pandas_lines,
            "",
            *targets,
            *notes,
            "",
        ]
    )


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,1000000", help="comma-separated client counts (e.g. 10000000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pandas-max", type=int, default=10_000_000, help="largest size the pandas baseline runs at")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "benchmark.md")
    parser.add_argument("--projection-from", type=Path, help="an earlier run's JSON: its pandas figures project memory")
    args = parser.parse_args()
    earlier = json.loads(args.projection_from.read_text(encoding="utf-8")) if args.projection_from else None
    print(run([int(size) for size in args.sizes.split(",")], args.seed, args.out, args.pandas_max, earlier))


if __name__ == "__main__":
    main()
