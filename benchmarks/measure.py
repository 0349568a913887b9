"""What the benchmarks measure with: peak memory of a process tree, a command's time and memory, and the cores a run may use."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import psutil


class PeakMemory:
    """Peak resident memory of this process and all its children (bytes), sampled in a thread every ``every`` seconds."""

    def __init__(self, every: float = 0.5):
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_measured(cmd: list[str], *, cwd: Path, what: str) -> tuple[float, int]:
    """Run a command in its own process: its wall seconds and the peak memory of the process tree (bytes); its output in the error if it fails."""
    t0 = time.perf_counter()
    with PeakMemory() as mem:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds, mem.peak


def pin_cores(n: int) -> str:
    """Restrict this process (and its children) to ``n`` CPUs where the OS allows it; says how many it has."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > n:
            os.sched_setaffinity(0, cpus[:n])
        return f"{len(os.sched_getaffinity(0))} (of {os.cpu_count()} on this machine)"
    except (AttributeError, OSError):
        return f"{os.cpu_count()} (affinity not settable here)"
