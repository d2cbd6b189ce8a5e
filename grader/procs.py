"""Process housekeeping for the sandbox: subreaping, killing whole trees, limits. No torch."""
from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Orphaned descendants are reparented to this process instead of init (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def children_of(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc (empty where /proc is absent)."""
    kids = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return kids
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        # the command name is in parentheses and may contain spaces: split after the last ')'
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def descendants(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        for kid in children_of(stack.pop()):
            out.append(kid)
            stack.append(kid)
    return out


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by `pid` (a sandbox child runs in a session of its own)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and every descendant, stopping each first so none can fork away."""
    for p in [pid] + descendants(pid):
        try:
            os.kill(p, signal.SIGSTOP)
        except (ProcessLookupError, PermissionError):
            pass
    for p in [pid] + descendants(pid):
        kill(p)


def kill_orphans(exclude: set[int]) -> None:
    """Kill every child of this process (and its tree) not in `exclude`; for a subreaper these
    are the leftovers of finished sandbox children."""
    for _ in range(3):  # a dying tree can reparent more orphans to us; sweep until quiet
        stray = [p for p in children_of(os.getpid()) if p not in exclude]
        if not stray:
            return
        for p in stray:
            kill_tree(p)


def address_space() -> int:
    """Current virtual memory size of this process in bytes (0 where unknown)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
