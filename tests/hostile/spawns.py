# kata: get_probs
# Starts processes that try to outlive the kata, and prints their PIDs for the test to find
# in the report's output: `sleep` in its process group, `sleep` in a new session, a double-forked
# `sleep` in a new session that ignores SIGTERM and SIGHUP, and a Python process in a new
# session that ignores them too (each in the child's own session where seccomp refuses a new
# one, and says how many were refused). Then get_probs is correct, or loops forever.
import os
import signal
import subprocess
import sys

import torch

LOOP = __LOOP__

refused = 0  # new sessions the sandbox refused (seccomp): each process then starts in ours


def popen(args):
    """A process in a new session, or in ours where a new one is refused."""
    global refused
    try:
        return subprocess.Popen(args, start_new_session=True).pid
    except (OSError, subprocess.SubprocessError):
        refused += 1
        return subprocess.Popen(args).pid


pids = [subprocess.Popen(["sleep", "1000"]).pid, popen(["sleep", "1000"])]

read_end, write_end = os.pipe()
first = os.fork()
if first == 0:  # leaves our session, forks the real one and exits: the grandchild is orphaned
    try:
        os.setsid()
        code = 0
    except OSError:
        code = 1
    if os.fork() == 0:
        os.write(write_end, f"{os.getpid()}\n".encode())
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        os.execvp("sleep", ["sleep", "1000"])
    os._exit(code)
os.close(write_end)
refused += os.waitstatus_to_exitcode(os.waitpid(first, 0)[1])
pids.append(int(os.read(read_end, 64).split()[0]))

stubborn = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "signal.signal(signal.SIGHUP, signal.SIG_IGN); time.sleep(1000)")
pids.append(popen([sys.executable, "-c", stubborn]))

print("spawned:", *pids)
print("new sessions refused:", refused)


def get_probs(logits, labels):
    while LOOP:
        pass
    logps = torch.log_softmax(logits, dim=-1)
    return torch.gather(logps, -1, labels.unsqueeze(-1)).squeeze(-1)
