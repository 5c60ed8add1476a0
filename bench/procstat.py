"""What the kernel says about a process: resident memory and CPU time, from /proc."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident set size of pid in KiB (VmRSS), 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds pid has used so far, 0.0 when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy so far (/proc/stat: all but idle and iowait)."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    # user nice system idle iowait irq softirq steal (guest time is inside user already)
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICKS


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit (inherited by children); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def database_pid(pid_file: str = "") -> int | None:
    """The local MariaDB/MySQL server's pid, None when none runs here.

    `pidof mariadbd mysqld` may list several servers (a test starts one of its own): the one whose
    pid file (the server's @@pid_file) names it, else the one that started first.
    """
    pidof = shutil.which("pidof") or "/usr/bin/pidof"
    try:
        found = subprocess.run([pidof, "mariadbd", "mysqld"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return None
    pids = [int(p) for p in found.split()]
    try:
        named = int(Path(pid_file).read_text().strip()) if pid_file else 0
    except (OSError, ValueError):
        named = 0
    if named in pids:
        return named
    return min(pids, key=_started, default=None)


def _started(pid: int) -> int:
    """When pid started (clock ticks after boot; /proc/<pid>/stat field 22)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 1 << 62
    return int(stat[stat.rindex(")") + 2 :].split()[19])
