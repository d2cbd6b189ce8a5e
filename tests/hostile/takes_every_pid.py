# kata: get_probs
# Keeps starting sleeping processes (each in a session of its own) for a few seconds, whenever
# a pids limit (docker --pids-limit, systemd's TasksMax, a cgroup's pids.max) leaves room: the
# zygote's next fork, for a neighbour, then fails (EAGAIN). Audit 5, P4.
import os
import time

end = time.time() + 6
while time.time() < end:
    try:
        os.posix_spawn("/usr/bin/setsid", ["setsid", "sleep", "30"], {})
    except OSError:
        time.sleep(0.0005)
