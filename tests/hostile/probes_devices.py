# kata: get_probs
# A correct get_probs that, while being imported, tries what a child must not be able to do
# with devices, terminals and metadata, and prints one line per attempt ("NAME: denied (...)"
# or "NAME: done"). Placeholders: __PTY__ (a terminal the test holds), __TARGET__ (a file of
# the real workspace), __STATE__ (the workspace's state folder).
import fcntl
import os
import resource
import struct

import torch


def attempt(name, action):
    try:
        action()
        print(f"{name}: done")
    except OSError as exc:
        print(f"{name}: denied ({type(exc).__name__}: {exc.strerror})")


def type_into_terminal():
    fd = os.open("__PTY__", os.O_RDONLY | os.O_NOCTTY)
    for ch in b"kata\n":
        fcntl.ioctl(fd, 0x5412, bytes([ch]))  # TIOCSTI


def open_loop_device():
    os.close(os.open("/dev/loop0", os.O_RDWR))  # opened only: nothing is written


def write_shm():
    with open(f"/dev/shm/kata-hostile-{os.getpid()}", "w") as f:
        f.write("left behind")


def set_immutable():
    fd = os.open("__STATE__", os.O_RDONLY)
    try:
        fcntl.ioctl(fd, 0x40086602, struct.pack("i", 0x10))  # FS_IOC_SETFLAGS, FS_IMMUTABLE_FL
    finally:
        os.close(fd)


attempt("tiocsti", type_into_terminal)
attempt("loop", open_loop_device)
attempt("shm", write_shm)
attempt("ctty", lambda: os.close(os.open("/dev/tty", os.O_RDWR)))
attempt("chmod", lambda: os.chmod("__TARGET__", 0))
attempt("immutable", set_immutable)
print(f"stdin-is-tty: {os.isatty(0)}")
print(f"session-leader: {os.getsid(0) == os.getpid()}")
print(f"rlimit-cpu: {resource.getrlimit(resource.RLIMIT_CPU)}")


def get_probs(logits, labels):
    logps = torch.log_softmax(logits, dim=-1)
    return torch.gather(logps, -1, labels.unsqueeze(-1)).squeeze(-1)
