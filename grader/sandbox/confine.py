"""How a sandboxed child gives up what it does not need, before it loads a submission. No torch.

- capabilities: all dropped (a grader run as root starts root children);
- seccomp: chmod, chown, extended attributes, a few ioctls (TIOCSTI, file flags), System V IPC,
  POSIX message queues, kernel keys, memfd, io_uring, new sessions and process groups refused,
  and prlimit, scheduling and priority changes on any process but itself;
- Landlock: writes only beneath the child's own folder and to /dev/null-like files, no device
  ioctl but a GPU's, no signal out of its domain.

Each part is applied where the kernel has it; docs/threat-model.md says what holds without it.
"""
from __future__ import annotations

import ctypes
import os
import sys
from typing import Any


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


_PR_SET_NO_NEW_PRIVS = 38


# ---------------------------------------------------------------------------- capabilities
_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
_CAP_VERSION_3 = 0x20080522


def drop_capabilities() -> bool:
    """Give up every capability, for good. A child of a grader run as root is then still uid 0
    (it can write what root owns) but can no longer act on others' terminals (TIOCSTI needs
    CAP_SYS_ADMIN), set the immutable flag (CAP_LINUX_IMMUTABLE), make device nodes, bypass
    permission bits on files it does not own, or signal other users. True when nothing is left."""
    import platform

    nr = _SYS_CAPSET.get(platform.machine())
    if nr is None or not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(64):  # the bounding set: what an exec could give back (needs CAP_SETPCAP: root only)
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break  # EINVAL: past the last capability this kernel knows
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty (two 32-bit words each)
    return _syscall(nr, ctypes.byref(header), ctypes.byref(data)) == 0


# ---------------------------------------------------------------------------- seccomp
# Landlock does not cover metadata: a confined child could still chmod or chown the files it
# can name (the workspace, the reference solutions), set file flags, or push characters into a
# terminal (TIOCSTI). Nor does it cover resource limits of other processes: prlimit(2) needs only
# the same uid, so a child could lower the file-size or open-file limit of the zygote, of its
# neighbours or of the grader (neighbours then blamed, the grader SIGKILLed by RLIMIT_CPU). Nor
# System V IPC, POSIX message queues and kernel keys, which outlive every process (4 x 256 MB
# left behind); nor memfd files, which no memory limit counts (2.4 GB under a 256 MB limit).
# io_uring performs the refused calls itself (its SETXATTR op set an empty ACL: chmod 000).
# A new session or process group would take the child's processes out of the group the zygote
# kills at the deadline, and, with scheduler autogroups, give each one a whole group's share of
# the CPU (256 of them starved a neighbour into an error). A child may change the scheduling of
# itself only, not of its neighbours.
# A small seccomp filter makes those system calls fail with EPERM; prlimit stays allowed on the
# caller itself (pid 0 or its own pid) and for reading another's limits (no new limit given).
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_METADATA_CALLS = {  # chmod, chown and extended attributes, in every form the architecture has
    "x86_64": (90, 91, 268, 452, 92, 93, 94, 260, 188, 189, 190, 197, 198, 199, 463, 466),
    "aarch64": (52, 53, 452, 54, 55, 5, 6, 7, 14, 15, 16, 463, 466),
}
_IPC_CALLS = {  # shmget, shmat, msgget, semget, mq_open: no kata needs them (the reference runs without)
    "x86_64": (29, 30, 68, 64, 240),
    "aarch64": (194, 196, 186, 190, 180),
}
_OTHER_CALLS = {  # io_uring_setup/enter/register, add_key, request_key, keyctl, memfd_create, memfd_secret,
    # setsid, setpgid
    "x86_64": (425, 426, 427, 248, 249, 250, 319, 447, 112, 109),
    "aarch64": (425, 426, 427, 217, 218, 219, 279, 447, 157, 154),
}
_PRLIMIT64 = {"x86_64": 302, "aarch64": 261}
# sched_setparam, sched_setscheduler, sched_setaffinity, sched_setattr: pid in the first argument
_SCHED_CALLS = {"x86_64": (142, 144, 203, 314), "aarch64": (118, 119, 122, 274)}
# setpriority(which, who, prio) and ioprio_set(which, who, prio): allowed for one process, itself
_SETPRIORITY = {"x86_64": 141, "aarch64": 140}
_IOPRIO_SET = {"x86_64": 251, "aarch64": 30}
_PRIO_PROCESS, _IOPRIO_WHO_PROCESS = 0, 1
_IOCTL = {"x86_64": 16, "aarch64": 29}
# TIOCSTI (type into a terminal), TIOCLINUX (console), FS_IOC_SETFLAGS and FS_IOC_FSSETXATTR
# (immutable / append-only flags). Only the low 32 bits are compared: the kernel reads `cmd` as int.
_IOCTLS_REFUSED = (0x5412, 0x541C, 0x40086602, 0x40046602, 0x401C5820)
_EPERM = 1
# Offsets in struct seccomp_data: nr (0), arch (4), args[i] at 16 + 8 i (low 32 bits first, little endian).
_ARG0, _ARG1, _ARG2 = 16, 24, 32
_LD, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ALLOW, _DENY = 0x7FFF0000, 0x00050000 | _EPERM


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _assemble(code: list[tuple[Any, ...]]) -> list[tuple[int, int, int, int]]:
    """Classic BPF from instructions whose jump targets are label names: ("label", NAME) marks
    a place; (op, true_target, false_target, k) jumps to a label or falls through (None)."""
    places, n = {}, 0
    for ins in code:
        if ins[0] == "label":
            places[ins[1]] = n
        else:
            n += 1
    out: list[tuple[int, int, int, int]] = []
    for ins in code:
        if ins[0] == "label":
            continue
        op, jt, jf, k = ins
        here = len(out) + 1
        out.append((op, 0 if jt is None else places[jt] - here, 0 if jf is None else places[jf] - here, k))
    return out


def _own(pid: int, at: int) -> list[tuple[Any, ...]]:
    """Allow when the argument at offset `at` names the caller (0, or its own pid); deny otherwise."""
    return [(_LD, None, None, at), (_JEQ, "allow", None, 0), (_JEQ, "allow", "deny", pid & 0xFFFFFFFF if pid else 0)]


def _seccomp_program(arch: str, pid: int = 0) -> list[tuple[int, int, int, int]]:
    """Classic BPF (code, jump if true, jump if false, k): refuse with EPERM the metadata, IPC,
    io_uring, key, memfd and session calls, the refused ioctls, and prlimit64, scheduling and
    priority calls aimed at any process but the caller (pid 0, or `pid`: the process installing
    the filter); allow everything else."""
    refused = _METADATA_CALLS[arch] + _IPC_CALLS[arch] + _OTHER_CALLS[arch]
    code: list[tuple[Any, ...]] = [
        (_LD, None, None, 4), (_JEQ, None, "deny", _AUDIT_ARCH[arch]),  # another ABI (i386 on x86_64)
        (_LD, None, None, 0)]  # the system call's number
    if arch == "x86_64":
        code += [(_JGE, "deny", None, 0x40000000)]  # x32 system calls
    code += [(_JEQ, "deny", None, nr) for nr in refused]
    code += [(_JEQ, "prlimit", None, _PRLIMIT64[arch]),
             *[(_JEQ, "sched", None, nr) for nr in _SCHED_CALLS[arch]],
             (_JEQ, "setpriority", None, _SETPRIORITY[arch]),
             (_JEQ, "ioprio", None, _IOPRIO_SET[arch]),
             (_JEQ, "ioctl", "allow", _IOCTL[arch])]
    # prlimit64(pid, resource, new_limit, old_limit): itself, or only reading (new_limit NULL).
    code += [("label", "prlimit"),
             (_LD, None, None, _ARG0), (_JEQ, "allow", None, 0), (_JEQ, "allow", None, pid & 0xFFFFFFFF if pid else 0),
             (_LD, None, None, _ARG2), (_JEQ, None, "deny", 0),
             (_LD, None, None, _ARG2 + 4), (_JEQ, "allow", "deny", 0)]
    code += [("label", "sched"), *_own(pid, _ARG0)]
    code += [("label", "setpriority"), (_LD, None, None, _ARG0), (_JEQ, None, "deny", _PRIO_PROCESS),
             *_own(pid, _ARG1)]
    code += [("label", "ioprio"), (_LD, None, None, _ARG0), (_JEQ, None, "deny", _IOPRIO_WHO_PROCESS),
             *_own(pid, _ARG1)]
    code += [("label", "ioctl"), (_LD, None, None, _ARG1)]  # ioctl's second argument, low 32 bits
    code += [(_JEQ, "deny", None, cmd) for cmd in _IOCTLS_REFUSED]
    code += [("label", "allow"), (_RET, None, None, _ALLOW), ("label", "deny"), (_RET, None, None, _DENY)]
    return _assemble(code)


def seccomp_architecture() -> str | None:
    """The architecture the filter above is written for, if this is one (Linux on x86-64 or arm64)."""
    import platform

    arch = platform.machine()
    return arch if arch in _AUDIT_ARCH and sys.platform.startswith("linux") else None


def forbid_metadata_changes() -> bool:
    """Install the filter above on this process and everything it starts. Irreversible. False
    where it could not be done (another architecture, no seccomp)."""
    arch = seccomp_architecture()
    if arch is None:
        return False
    prog = _seccomp_program(arch, os.getpid())
    filters = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER


# ---------------------------------------------------------------------------- Landlock
# Linux's unprivileged sandboxing (kernel 5.13+; include/uapi/linux/landlock.h). A child
# confines itself before it loads the submission: it may then write only beneath its own
# folder and to /dev/null-like files, (ABI 5+) use no ioctl on a device but a GPU, and (ABI 6+)
# not signal processes outside its domain (the zygote, the grader). Reading stays
# unrestricted. The domain is inherited by everything it starts.
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_FS_WRITE_FILE, _FS_TRUNCATE = 1 << 1, 1 << 14
_FS_WRITES_V1 = sum(1 << b for b in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))  # write, remove, make (char..sym)
_FS_REFER = 1 << 13  # ABI 2: renames and links across folders
_FS_IOCTL_DEV = 1 << 15  # ABI 5: ioctl on character and block devices
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6
CONFINES_WRITES = 3  # the first ABI that also controls truncate(2): writes are then fully confined
CONFINES_DEVICE_IOCTLS = 5
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


# Device files a child may write: the bit buckets and random sources. Not /dev/shm (it would
# outlive the child), not terminals, not disks. GPUs are added when the job may use one.
DEVICE_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
GPU_PATTERNS = ("/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri", "/dev/kfd")


def gpu_paths() -> list[str]:
    import glob

    return sorted({p for pattern in GPU_PATTERNS for p in glob.glob(pattern)})


def confine(writable: list[str], abi: int, devices: tuple[str, ...] = DEVICE_FILES, gpus: tuple[str, ...] = ()) -> bool:
    """Allow this process (and all it starts) to write only beneath `writable` and to the device
    files `devices`; with ABI 5+ also forbid ioctls on every device but `gpus` (which CUDA
    drives through ioctls; no terminal can be typed into); with ABI 6+ forbid signalling
    processes outside. Irreversible. False when it could not be done."""
    if abi < 1:
        return False
    fs = _FS_WRITES_V1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0) | \
        (_FS_IOCTL_DEV if abi >= 5 else 0)
    file_rights = fs & (_FS_WRITE_FILE | _FS_TRUNCATE)  # a rule on a file may carry file rights only
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = _RulesetAttr(fs, 0, scoped)
    size = ctypes.c_size_t(ctypes.sizeof(attr))
    ruleset = _syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), size, ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    rules = [(p, fs & ~_FS_IOCTL_DEV) for p in writable] + [(p, file_rights) for p in devices] + \
        [(p, fs & (_FS_WRITE_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV)) for p in gpus]
    try:
        for path, allowed in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                rule = _PathBeneathAttr(allowed if os.path.isdir(path) else allowed & (file_rights | _FS_IOCTL_DEV), fd)
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
