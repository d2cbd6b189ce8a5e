# kata: get_probs
# Starts processes that try to outlive the kata, and prints their PIDs for the test to find
# in the report's output: `sleep` in its process group, `sleep` in a new session, a double-forked
# `sleep` in a new session that ignores SIGTERM and SIGHUP, and a Python process in a new
# session that ignores them too. Then get_probs is correct, or loops forever.
import os
import signal
import subprocess
import sys

import torch

LOOP = __LOOP__

pids = [subprocess.Popen(["sleep", "1000"]).pid,
        subprocess.Popen(["sleep", "1000"], start_new_session=True).pid]

read_end, write_end = os.pipe()
first = os.fork()
if first == 0:  # leaves our session, forks the real one and exits: the grandchild is orphaned
    os.setsid()
    if os.fork() == 0:
        os.write(write_end, f"{os.getpid()}\n".encode())
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        os.execvp("sleep", ["sleep", "1000"])
    os._exit(0)
os.close(write_end)
os.waitpid(first, 0)
pids.append(int(os.read(read_end, 64).split()[0]))

stubborn = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "signal.signal(signal.SIGHUP, signal.SIG_IGN); time.sleep(1000)")
pids.append(subprocess.Popen([sys.executable, "-c", stubborn], start_new_session=True).pid)

print("spawned:", *pids)


def get_probs(logits, labels):
    while LOOP:
        pass
    logps = torch.log_softmax(logits, dim=-1)
    return torch.gather(logps, -1, labels.unsqueeze(-1)).squeeze(-1)
