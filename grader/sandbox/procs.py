"""Process housekeeping for the sandbox: subreaping, killing whole trees, limits. No torch."""
from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Any

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Orphaned descendants are reparented to this process instead of init (Linux only)."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent() -> bool:
    """SIGKILL this process when its parent dies (Linux only): a sandbox child must not
    outlive a zygote that was killed under it."""
    return _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


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


# ---------------------------------------------------------------------------- Landlock
# Linux's unprivileged sandboxing (kernel 5.13+; include/uapi/linux/landlock.h). A child
# confines itself before it loads the submission: it may then write only beneath its own
# folder and /dev, and (ABI 6+) may not signal processes outside its domain (the zygote, the
# grader). Reading stays unrestricted. The domain is inherited by everything it starts.
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_FS_WRITE_FILE, _FS_TRUNCATE = 1 << 1, 1 << 14
_FS_WRITES_V1 = sum(1 << b for b in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))  # write, remove, make (char..sym)
_FS_REFER = 1 << 13  # ABI 2: renames and links across folders
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6
CONFINES_WRITES = 3  # the first ABI that also controls truncate(2): writes are then fully confined
CONFINES_SIGNALS = 6


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _syscall(*args: Any) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall(*args)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 where there is none (not Linux, too old, disabled)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        return max(0, _syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)))
    except (OSError, AttributeError):
        return 0


def confine(writable: list[str], abi: int) -> bool:
    """Allow this process (and all it starts) to write only beneath `writable`; with ABI 6+ also
    forbid signalling processes outside. Irreversible. False when it could not be done."""
    if abi < 1:
        return False
    fs = _FS_WRITES_V1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = _RulesetAttr(fs, 0, scoped)
    size = ctypes.c_size_t(ctypes.sizeof(attr))
    ruleset = _syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), size, ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    try:
        for path in writable:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                rule = _PathBeneathAttr(fs, fd)
                if _syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule),
                            ctypes.c_uint32(0)) < 0:
                    return False
            finally:
                os.close(fd)
        if not _prctl(_PR_SET_NO_NEW_PRIVS, 1):
            return False
        return _syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) == 0
    finally:
        os.close(ruleset)
