"""What every section shares: child processes measured by the kernel, figures as median with
min-max spread, the machine and how busy others kept it.

Peak RSS is the kernel's own figure for one child process: ``os.wait4`` returns that child's
rusage (the RUSAGE_CHILDREN accounting, for one child), whose ru_maxrss is the largest of the
child and the descendants it waited for. A process tree that runs several processes at once
(the predict stage's helper) also gets ``tree_peak_rss_mb``: the sum over the tree, sampled
every 0.2 s (so a spike shorter than that can be missed; pages a forked child shares with its
parent count in both).
"""

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD_MODULE = "linerec.bench.child"


def summary(values):
    values = list(values)
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def spread(stats, digits=1):
    if stats is None:
        return "-"
    return f"{stats['median']:.{digits}f} ({stats['min']:.{digits}f}-{stats['max']:.{digits}f})"


def load_average():
    return [round(v, 2) for v in os.getloadavg()]


def volunteer_for_oom_kill():
    """If memory runs out (a CRNN at batch 256 needs gigabytes), the kernel should end a
    benchmark process rather than anything else running on a shared machine."""
    try:
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        pass


class OtherLoad:
    """CPU cores that other processes kept busy, on average, while a section ran: the machine's
    busy time (/proc/stat) minus this process's and its children's."""

    cores = None

    def __enter__(self):
        self.start = self._sample()
        return self

    def __exit__(self, *exc_info):
        machine_busy, ours, wall = (b - a for a, b in zip(self.start, self._sample()))
        self.cores = round(max(0.0, machine_busy - ours) / wall, 2) if machine_busy >= 0 else None

    @staticmethod
    def _sample():
        ours = sum(getattr(resource.getrusage(who), field)
                   for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                   for field in ("ru_utime", "ru_stime"))
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
            # user nice system idle iowait irq softirq steal: all but idle and iowait
            busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4))
            busy /= os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            busy = -1.0
        return busy, ours, time.perf_counter()


def machine():
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                 platform.processor() or platform.machine())
    versions = {}
    for package in ("paddlepaddle", "paddleocr", "dvc"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"cpu": model, "cpu_count": os.cpu_count(), "python": platform.python_version(),
            **versions}


def child_environment(extra=None):
    """This interpreter's environment for a child: unbuffered output (so that its lines are
    timed as they are printed) and the project's linerec importable from any folder."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", DVC_NO_ANALYTICS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env


def _tree_rss(root_pid):
    """RSS of a process and all its descendants, in bytes (0 when it is gone)."""
    try:
        import psutil
    except ImportError:  # the kernel's per-process figure still stands
        return 0
    try:
        root = psutil.Process(root_pid)
        processes = [root] + root.children(recursive=True)
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_measured(command, cwd=None, env=None, log=None, timeout=None, echo=False):
    """Runs ``command``; returns {returncode, wall_s, peak_rss_mb, tree_peak_rss_mb, lines},
    ``lines`` being [(seconds since start, line)] of its merged stdout and stderr."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env or child_environment(), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1,
                               errors="replace")
    lines, tree_peak, done = [], [0], threading.Event()

    def read():
        sink = open(log, "a", encoding="utf-8") if log else None
        try:
            for line in process.stdout:
                lines.append((time.perf_counter() - start, line.rstrip("\n")))
                if sink:
                    sink.write(line)
                if echo:
                    sys.stdout.write("    " + line)
        finally:
            if sink:
                sink.close()

    def sample():
        while not done.wait(0.2):
            tree_peak[0] = max(tree_peak[0], _tree_rss(process.pid))

    reader = threading.Thread(target=read, daemon=True)
    sampler = threading.Thread(target=sample, daemon=True)
    reader.start()
    sampler.start()
    timer = threading.Timer(timeout, process.kill) if timeout else None
    if timer:
        timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        if timer:
            timer.cancel()
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    done.set()
    reader.join()
    sampler.join()
    peak = usage.ru_maxrss / 1024  # Linux reports KiB
    return {"returncode": process.returncode, "wall_s": wall, "peak_rss_mb": round(peak, 1),
            "tree_peak_rss_mb": round(max(tree_peak[0] / 2**20, peak), 1), "lines": lines}


def run_function(function, kwargs, legacy_programs=False, timeout=None, echo=False):
    """``function(**kwargs)`` ("module:name") in a fresh interpreter configured as a stage
    (linerec.runtime.configure_stage, with legacy_programs for an export). Returns its JSON
    result plus the child's wall_s and peak_rss_mb, or {"error": ...}."""
    with tempfile.TemporaryDirectory(prefix="linerec-bench-child-") as folder:
        args_file, result_file = Path(folder) / "args.json", Path(folder) / "result.json"
        args_file.write_text(json.dumps(kwargs), encoding="utf-8")
        command = [sys.executable, "-m", CHILD_MODULE, function, str(args_file), str(result_file)]
        if legacy_programs:
            command.insert(3, "--legacy-programs")
        run = run_measured(command, timeout=timeout, echo=echo)
        result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.exists() \
            else {}
    if run["returncode"] != 0 or "error" in result:
        tail = [line for _, line in run["lines"][-6:]]
        why = result.get("error") or ("killed (out of memory, or past the time limit?)"
                                      if run["returncode"] < 0 else f"exit {run['returncode']}")
        return {"error": why, "output_tail": tail, "peak_rss_mb": run["peak_rss_mb"]}
    return {**result, "wall_s": run["wall_s"], "peak_rss_mb": run["peak_rss_mb"]}


def print_table(headers, rows, aligns=None):
    """A plain table: headers, then rows of already formatted cells."""
    aligns = aligns or ["<"] + [">"] * (len(headers) - 1)
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows)]
    for row in [headers] + rows:
        print("  ".join(f"{str(cell):{align}{width}}"
                        for cell, align, width in zip(row, aligns, widths)).rstrip())
