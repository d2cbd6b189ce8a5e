# kata: get_probs
# Writes into the zygote's report pipe (reachable through /proc when unconfined): junk, a claim
# that it has itself exited, more than a pipe's worth of filler, and then a claim that the next
# kata's child is another process (the test's VICTIM), which the grader reads after it has
# handed that kata out: if believed, that kata's timeout would kill the victim.
import json
import os

print("forger:", os.getpid())
RUNS = range(1, 300)
lines = ["this is not an event",
         *[json.dumps({"event": "exited", "id": f"{r}:0/get_probs", "signal": [9]}) for r in RUNS],  # not a signal
         *[json.dumps({"event": "filler", "n": i}) for i in range(4000)],
         *[json.dumps({"event": "started", "id": f"{r}:0/dpo", "pid": __VICTIM__}) for r in RUNS]]
with open(f"/proc/{os.getppid()}/fd/1", "w") as pipe:
    pipe.write("\n".join(lines) + "\n")
while True:
    pass
