# kata: get_probs
# A correct get_probs that, while being imported, tries to set the resource limits, the CPU
# affinity and the priority of other processes (they need only the same uid), to make System V
# IPC objects, a POSIX message queue and a kernel key (they outlive every process), a memfd (no
# memory limit counts it), an io_uring (it performs refused calls itself), and a new session
# from a forked process (out of the group killed at the deadline), printing one line per attempt
# ("NAME: denied (...)" or "NAME: done"). Each setting is set to the value it already has and
# the key goes to the process's own keyring: where the sandbox fails to refuse one, nothing
# changes (the grader running this is the test's own process).
import ctypes
import ctypes.util
import os
import platform
import resource

import torch


def attempt(name, action):
    try:
        action()
        print(f"{name}: done")
    except OSError as exc:
        print(f"{name}: denied ({type(exc).__name__}: {exc.strerror})")


def same_limit(pid, kind):
    resource.prlimit(pid, kind, resource.prlimit(pid, kind))


def new_session_in_a_fork():
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os._exit(0)
        except OSError as exc:
            os._exit(exc.errno)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code:
        raise OSError(code, os.strerror(code))


def raw(nr, *args):
    fd = libc.syscall(nr, *args)
    if fd == -1:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    os.close(fd) if nr in (IO_URING_SETUP, MEMFD_CREATE) else None


def parent_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def ipc(call):
    if call() == -1:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


IO_URING_SETUP = 425
ADD_KEY, MEMFD_CREATE = {"x86_64": (248, 319), "aarch64": (217, 279)}[platform.machine()]
KEY_SPEC_PROCESS_KEYRING = -2
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
rt = ctypes.CDLL(ctypes.util.find_library("rt") or None, use_errno=True)
zygote = os.getppid()
attempt("prlimit-self-0", lambda: same_limit(0, resource.RLIMIT_NOFILE))
attempt("prlimit-self-pid", lambda: same_limit(os.getpid(), resource.RLIMIT_NOFILE))
attempt("prlimit-read-zygote", lambda: resource.prlimit(zygote, resource.RLIMIT_NOFILE))
attempt("prlimit-zygote", lambda: same_limit(zygote, resource.RLIMIT_NOFILE))
attempt("prlimit-grader", lambda: same_limit(parent_of(zygote), resource.RLIMIT_CPU))
attempt("shmget", lambda: ipc(lambda: libc.shmget(0, 4096, 0o1000 | 0o600)))  # IPC_PRIVATE, IPC_CREAT
attempt("msgget", lambda: ipc(lambda: libc.msgget(0, 0o1000 | 0o600)))
attempt("semget", lambda: ipc(lambda: libc.semget(0, 1, 0o1000 | 0o600)))
attempt("mq_open", lambda: ipc(lambda: rt.mq_open(b"/kata-hostile-mq", 0o100 | 0o2, 0o600, None)))
attempt("affinity-self", lambda: os.sched_setaffinity(0, os.sched_getaffinity(0)))
attempt("affinity-zygote", lambda: os.sched_setaffinity(zygote, os.sched_getaffinity(zygote)))
attempt("priority-self", lambda: os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0)))
attempt("priority-zygote", lambda: os.setpriority(os.PRIO_PROCESS, zygote, os.getpriority(os.PRIO_PROCESS, zygote)))
attempt("setsid-in-fork", new_session_in_a_fork)
attempt("memfd", lambda: raw(MEMFD_CREATE, b"kata-hostile", 0))
attempt("add_key", lambda: raw(ADD_KEY, b"user", b"kata-hostile", b"x", 1, KEY_SPEC_PROCESS_KEYRING))
attempt("io_uring", lambda: raw(IO_URING_SETUP, 1, ctypes.create_string_buffer(120)))


def get_probs(logits, labels):
    logps = torch.log_softmax(logits, dim=-1)
    return torch.gather(logps, -1, labels.unsqueeze(-1)).squeeze(-1)
