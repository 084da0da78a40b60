"""A throwaway Spark standalone cluster on 127.0.0.1: one master and two workers, separate processes.

Started from the pinned pyspark's ``bin/spark-class`` (``deploy.master.Master`` and
``deploy.worker.Worker``), each in its own process group so that stopping it also stops the
executors the workers started. The ``spark`` target of profiles.yml reaches it through
``METANPROM_SPARK_MASTER=spark://127.0.0.1:<port>``; Spark's event log (``METANPROM_SPARK_EVENTS``)
records which executor ran each task, read back by :func:`task_counts`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StandaloneCluster:
    """A master and ``workers`` workers (``worker_cores`` cores, ``worker_memory`` each) under ``base``."""

    def __init__(self, base: Path, workers: int = 2, worker_cores: int = 1, worker_memory: str = "1g") -> None:
        """Choose free ports; nothing starts before :meth:`start`."""
        import pyspark

        self.spark_home = Path(pyspark.__file__).parent
        self.base, self.workers, self.worker_cores, self.worker_memory = base, workers, worker_cores, worker_memory
        self.master_port, self.ui_port = _free_port(), _free_port()
        self.master_url = f"spark://127.0.0.1:{self.master_port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.startup_seconds = 0.0
        java = shutil.which("java")
        self.env = dict(
            os.environ,
            SPARK_HOME=str(self.spark_home),
            SPARK_LOCAL_IP="127.0.0.1",
            SPARK_LOCAL_HOSTNAME="127.0.0.1",
            SPARK_LOG_DIR=str(base / "logs"),
            SPARK_LOCAL_DIRS=str(base / "local"),
            SPARK_DAEMON_MEMORY="256m",
            PYSPARK_PYTHON=sys.executable,
            SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false",  # else a fixed port 6066
        )
        if java and "JAVA_HOME" not in self.env:
            self.env["JAVA_HOME"] = str(Path(os.path.realpath(java)).parent.parent)

    def _spawn(self, name: str, arguments: list[str]) -> None:
        with open(self.base / "logs" / f"{name}.log", "wb") as log:
            self.processes.append(
                subprocess.Popen(
                    [str(self.spark_home / "bin" / "spark-class"), *arguments],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )

    def state(self) -> dict[str, Any] | None:
        """Return the master's JSON status (workers, applications), or None while it is not up."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=2) as response:
                return dict(json.load(response))
        except OSError:
            return None

    def alive_workers(self) -> int:
        """Count the workers registered and alive at the master."""
        state = self.state() or {}
        return sum(worker.get("state") == "ALIVE" for worker in state.get("workers", []))

    def _wait(self, ready: Any, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in self.processes):
                raise RuntimeError(f"a Spark daemon stopped while starting; see the logs in {self.base / 'logs'}")
            if ready():
                return
            time.sleep(0.25)
        raise TimeoutError(f"the Spark cluster did not start within {timeout:.0f} s; see {self.base / 'logs'}")

    def start(self) -> StandaloneCluster:
        """Start the master, then the workers; return once every worker is alive."""
        started = time.monotonic()
        for folder in ("logs", "local", "work"):
            (self.base / folder).mkdir(parents=True, exist_ok=True)
        try:
            self._spawn(
                "master",
                ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(self.master_port),
                 "--webui-port", str(self.ui_port)],
            )  # fmt: skip
            self._wait(lambda: self.state() is not None)
            for index in range(self.workers):
                work = self.base / "work" / f"worker-{index}"
                work.mkdir(parents=True, exist_ok=True)
                self._spawn(
                    f"worker-{index}",
                    ["org.apache.spark.deploy.worker.Worker", self.master_url, "--host", "127.0.0.1",
                     "--port", str(_free_port()), "--webui-port", str(_free_port()),
                     "--cores", str(self.worker_cores), "--memory", self.worker_memory, "--work-dir", str(work)],
                )  # fmt: skip
            self._wait(lambda: self.alive_workers() >= self.workers)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self, grace: float = 15.0) -> None:
        """Stop the workers (and their executors), then the master; kill what is left after ``grace``."""
        for process in reversed(self.processes):
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        self.processes.clear()

    def __enter__(self) -> StandaloneCluster:
        """Start the cluster."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop everything the cluster started."""
        self.stop()


def task_counts(event_log_dir: Path) -> dict[str, dict[str, int]]:
    """Tasks per executor of each application in Spark's (uncompressed, unrolled) event log."""
    counts: dict[str, dict[str, int]] = {}
    for path in sorted(event_log_dir.iterdir()):
        application, tasks = path.name, Counter[str]()
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                event = json.loads(line)
                if event.get("Event") == "SparkListenerApplicationStart":
                    application = str(event.get("App ID", application))
                elif event.get("Event") == "SparkListenerTaskEnd":
                    tasks[str(event["Task Info"]["Executor ID"])] += 1
        counts[application] = dict(sorted(tasks.items()))
    return counts
