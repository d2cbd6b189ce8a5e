"""grader.sandbox.confine's seccomp program, run by a small classic-BPF interpreter for each
architecture it supports (the end-to-end tests run on this machine's only): what it refuses and
what it allows, by system call number and argument."""
from __future__ import annotations

import pytest

from grader.sandbox import confine

ALLOW, DENY = "allow", "deny"
OWN_PID = 4242
# name -> system call number, per architecture
CALLS = {
    "x86_64": {"read": 0, "ioctl": 16, "chmod": 90, "shmget": 29, "shmat": 30, "msgget": 68, "semget": 64,
               "mq_open": 240, "prlimit64": 302, "setrlimit": 160, "io_uring_setup": 425, "io_uring_enter": 426,
               "io_uring_register": 427, "add_key": 248, "request_key": 249, "keyctl": 250, "memfd_create": 319,
               "setsid": 112, "setpgid": 109, "sched_setaffinity": 203, "sched_setscheduler": 144,
               "sched_setparam": 142, "sched_setattr": 314, "setpriority": 141, "ioprio_set": 251,
               "sched_getaffinity": 204, "getpriority": 140, "clone": 56},
    "aarch64": {"read": 63, "ioctl": 29, "chmod": 53, "shmget": 194, "shmat": 196, "msgget": 186, "semget": 190,
                "mq_open": 180, "prlimit64": 261, "setrlimit": 164, "io_uring_setup": 425, "io_uring_enter": 426,
                "io_uring_register": 427, "add_key": 217, "request_key": 218, "keyctl": 219, "memfd_create": 279,
                "setsid": 157, "setpgid": 154, "sched_setaffinity": 122, "sched_setscheduler": 119,
                "sched_setparam": 118, "sched_setattr": 274, "setpriority": 140, "ioprio_set": 30,
                "sched_getaffinity": 123, "getpriority": 141, "clone": 220},
}


def verdict(arch: str, nr: int, args: tuple[int, ...] = ()) -> str:
    """What the filter returns for system call `nr` with `args` (struct seccomp_data, little endian)."""
    data = {0: nr, 4: confine._AUDIT_ARCH[arch]}
    for i, value in enumerate(args):
        data[16 + 8 * i], data[20 + 8 * i] = value & 0xFFFFFFFF, value >> 32
    prog, pc, acc = confine._seccomp_program(arch, OWN_PID), 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        if code == 0x20:  # load a word
            acc, pc = data.get(k, 0), pc + 1
        elif code in (0x15, 0x35):  # jump if equal, jump if greater or equal
            pc += 1 + (jt if (acc == k if code == 0x15 else acc >= k) else jf)
        else:
            assert code == 0x06, code
            return ALLOW if k == 0x7FFF0000 else DENY


@pytest.mark.parametrize("arch", list(CALLS))
@pytest.mark.parametrize("call, args, expected", [
    ("read", (), ALLOW),
    ("setrlimit", (), ALLOW),
    ("chmod", (), DENY),
    ("shmget", (), DENY), ("shmat", (), DENY), ("msgget", (), DENY), ("semget", (), DENY), ("mq_open", (), DENY),
    ("prlimit64", (0, 7, 0x7000, 0), ALLOW),  # itself, as pid 0
    ("prlimit64", (OWN_PID, 7, 0x7000, 0), ALLOW),  # itself, by its pid
    ("prlimit64", (99, 7, 0, 0x7000), ALLOW),  # reading another's limits
    ("prlimit64", (99, 7, 0x7000, 0), DENY),  # setting another's (audit 5, P1)
    ("prlimit64", (99, 7, 1 << 40, 0), DENY),  # a new limit whose address has only high bits
    ("ioctl", (0, 0x5412), DENY),  # TIOCSTI
    ("ioctl", (0, 0x5401), ALLOW),  # TCGETS
    # audit 6: calls that act for the child (io_uring), outlive it (keys), escape its memory limit
    # (memfd) or its process group (a new session or group)
    *((name, (), DENY) for name in ("io_uring_setup", "io_uring_enter", "io_uring_register", "add_key",
                                    "request_key", "keyctl", "memfd_create", "setsid", "setpgid")),
    # scheduling: its own (0 or its pid), never another's
    *((name, (pid,), verdict_) for name in ("sched_setaffinity", "sched_setscheduler", "sched_setparam",
                                            "sched_setattr")
      for pid, verdict_ in ((0, ALLOW), (OWN_PID, ALLOW), (99, DENY), (OWN_PID + (1 << 32), ALLOW))),
    ("setpriority", (0, 0, 10), ALLOW), ("setpriority", (0, OWN_PID, 10), ALLOW),  # PRIO_PROCESS, itself
    ("setpriority", (0, 99, 10), DENY), ("setpriority", (1, 0, 10), DENY),  # another; its process group
    ("setpriority", (2, 0, 10), DENY),  # PRIO_USER: every process of the uid
    ("ioprio_set", (1, 0, 0), ALLOW), ("ioprio_set", (1, 99, 0), DENY), ("ioprio_set", (3, 0, 0), DENY),
    ("sched_getaffinity", (99,), ALLOW), ("getpriority", (0, 99), ALLOW), ("clone", (0x11,), ALLOW),
])
def test_the_filter_refuses_what_no_kata_needs_and_allows_the_rest(arch, call, args, expected):
    assert verdict(arch, CALLS[arch][call], args) == expected
