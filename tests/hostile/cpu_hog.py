# kata: get_probs
# Keeps every core busy from eight threads (hashing releases the GIL) and never returns: its
# neighbours in a cohort must still get their own verdicts within their own limits.
import hashlib
import threading

DATA = b"x" * (1 << 22)


def spin():
    while True:
        hashlib.sha256(DATA).digest()


threads = [threading.Thread(target=spin, daemon=True) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
