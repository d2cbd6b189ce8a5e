# kata: get_probs
# A correct get_probs that, while being imported, tries to set the resource limits of other
# processes (prlimit needs only the same uid) and to make System V IPC objects and a POSIX
# message queue (they outlive every process), printing one line per attempt ("NAME: denied
# (...)" or "NAME: done"). Each limit is set to the value it already has: where the sandbox
# fails to refuse it, nothing changes (the grader running this is the test's own process).
import ctypes
import ctypes.util
import os
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


def parent_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def ipc(call):
    if call() == -1:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


libc = ctypes.CDLL(None, use_errno=True)
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


def get_probs(logits, labels):
    logps = torch.log_softmax(logits, dim=-1)
    return torch.gather(logps, -1, labels.unsqueeze(-1)).squeeze(-1)
