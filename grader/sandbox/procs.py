"""Process housekeeping for the sandbox: subreaping, killing whole trees, limits. No torch."""
from __future__ import annotations

import os
import signal

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Orphaned descendants are reparented to this process instead of init (Linux only)."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent() -> bool:
    """SIGKILL this process when its parent dies (Linux only): a sandbox child must not
    outlive a zygote that was killed under it."""
    return _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def process_tree() -> dict[int, list[int]]:
    """Every live process's children (zombies left out), from one pass over /proc (empty where
    /proc is absent)."""
    tree: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return tree
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
        if len(fields) > 1 and fields[1].isdigit() and fields[0] != "Z":  # a zombie is dead: nothing to kill
            tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def children_of(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc (empty where /proc is absent)."""
    return process_tree().get(pid, [])


def parent_of(pid: int) -> int | None:
    """The parent of a live (or not yet reaped) process, from /proc; None when there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        return int(stat[stat.rfind(")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def is_child_of(pid: int, parent: int) -> bool:
    """True when `pid` is a child of `parent`. Where /proc is absent nothing can be checked: True."""
    if not os.path.isdir("/proc"):
        return True
    return pid > 1 and parent_of(pid) == parent


def is_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (dead, waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        return stat[stat.rfind(")") + 2:].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def descendants(pid: int, tree: dict[int, list[int]] | None = None) -> list[int]:
    """Every descendant of `pid`; `tree`: a process_tree() already read (one pass over /proc,
    however many processes: a child that leaves hundreds must not stall the zygote)."""
    tree = process_tree() if tree is None else tree
    out, stack, seen = [], [pid], {pid}
    while stack:
        for kid in tree.get(stack.pop(), ()):
            if kid not in seen:
                seen.add(kid)
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
    _kill_trees([pid])


def _kill_trees(roots: list[int]) -> None:
    """Stop every process of the trees under `roots`, read the trees again (what forked before
    its stop), and kill them all: two passes over /proc, whatever the number of processes."""
    tree = process_tree()
    for p in roots + [d for r in roots for d in descendants(r, tree)]:
        try:
            os.kill(p, signal.SIGSTOP)
        except (ProcessLookupError, PermissionError):
            pass
    tree = process_tree()
    for p in roots + [d for r in roots for d in descendants(r, tree)]:
        kill(p)


def kill_orphans(exclude: set[int]) -> None:
    """Kill every child of this process (and its tree) not in `exclude`; for a subreaper these
    are the leftovers of finished sandbox children."""
    for _ in range(3):  # a dying tree can reparent more orphans to us; sweep until quiet
        stray = [p for p in children_of(os.getpid()) if p not in exclude]
        if not stray:
            return
        _kill_trees(stray)


def memory_sizes() -> dict[str, int]:
    """This process's `VmSize` (address space) and `VmData` (private writable memory) in bytes
    ({} where /proc is absent)."""
    sizes = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmSize:", "VmData:")):
                    sizes[line.split(":")[0]] = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return sizes


def gpu_present() -> bool:
    """True when a CUDA or ROCm device node exists. CUDA reserves tens of GB of address space
    at initialisation, so a child that may use it cannot run under RLIMIT_AS."""
    return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/kfd"))


def user_tasks(uid: int) -> int:
    """Threads (tasks) owned by `uid`, which is what RLIMIT_NPROC counts; 0 where unknown."""
    total = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            total += int(stat[stat.rfind(")") + 2:].split()[17])  # field 20: num_threads
        except (OSError, ValueError, IndexError):
            continue
    return total


# ---------------------------------------------------------------------------- CPU time
def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, all threads) `pid` has used so far; None when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        fields = stat[stat.rfind(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # fields 14, 15: utime, stime
    except (OSError, ValueError, IndexError):
        return None


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU time `pid` and every process it started have used (the reaped ones included); None
    when `pid` is unknown. A child that spins processes of its own has had its CPU share even
    when its main thread waits for a core."""
    total = None
    for p in [pid] + descendants(pid):
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            fields = stat[stat.rfind(")") + 2:].split()
            ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # fields 14-17: utime, stime, cutime, cstime
        except (OSError, ValueError, IndexError):
            if p == pid:
                return None
            continue
        total = (total or 0.0) + ticks / os.sysconf("SC_CLK_TCK")
    return total


def is_runnable(pid: int) -> bool:
    """True while `pid` is running or waiting for a CPU (state R), not sleeping or stopped."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        return stat[stat.rfind(")") + 2:].split()[0] == "R"
    except (OSError, IndexError):
        return False


# Confinement (Landlock, seccomp, capabilities) lives in grader.sandbox.confine; these names are
# also read from here.
from grader.sandbox.confine import CONFINES_SIGNALS, CONFINES_WRITES, landlock_abi  # noqa: E402,F401
from grader.sandbox.confine import _prctl  # noqa: E402  (one prctl wrapper, shared)
