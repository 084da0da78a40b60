"""Each build stage's own peak memory: this process sampled, its children (dbt) measured when they end."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from typing import Any

MB = 1024 * 1024


class RssSampler:
    """Largest resident set since :meth:`restart`: this process sampled every 0.2 s, children as they end.

    ``getrusage`` only knows the largest of the whole run; this gives each stage its own peak. A
    child run through :func:`run_measured` (dbt) adds its own peak when it ends.
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval, self.peak = interval, 0
        self._thread: threading.Thread | None = None
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _current(self) -> int:
        try:
            with open("/proc/self/statm", encoding="ascii") as statm:
                return int(statm.read().split()[1]) * self._page
        except OSError:  # no /proc: the stage's own figure is unknown, the run's peak is still measured
            return 0

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self._current())
            time.sleep(self.interval)

    def restart(self) -> None:
        """Start a new peak (the sampling thread starts on first use)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")
            self._thread.start()
        self.peak = self._current()

    def note(self, peak_bytes: int) -> None:
        """Count a finished child's peak in the current stage."""
        self.peak = max(self.peak, peak_bytes)

    def peak_mb(self) -> float:
        """Return the peak since the last restart, in MB."""
        return max(self.peak, self._current()) / MB


RSS = RssSampler()


def run_measured(command: list[str], **options: Any) -> int:
    """Run ``command`` like ``subprocess.run`` (no check); note its peak resident set in :data:`RSS`.

    Returns the exit code.
    """
    process = subprocess.Popen(command, **options)
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except BaseException:
        process.kill()
        process.wait()
        raise
    process.returncode = os.waitstatus_to_exitcode(status)
    RSS.note(usage.ru_maxrss * 1024)  # kilobytes on Linux
    return process.returncode
