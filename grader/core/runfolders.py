"""The temporary folders of runs: made, measured, emptied and removed, whatever a child did to
them, and swept after a run that was killed. No torch.
"""
from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path


def remove_tree(folder: Path) -> bool:
    """Delete `folder` whatever a child made of it: folders nested thousands deep (past Python's
    recursion limit and PATH_MAX, so by file descriptor, one level at a time, never by path),
    folders made unreadable or unwritable (permissions are given back to the owner first).
    What cannot be deleted (an immutable file) stays. True when `folder` is gone. Never raises."""
    try:
        _remove(folder)
    except OSError:
        pass
    return not os.path.lexists(folder)


_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _open_dir(name: str, dir_fd: int | None) -> int:
    try:
        return os.open(name, _DIR, dir_fd=dir_fd)
    except PermissionError:
        os.chmod(name, 0o700, dir_fd=dir_fd)  # a folder the child made 000: its owner may open it again
        return os.open(name, _DIR, dir_fd=dir_fd)


def _remove(folder: Path) -> None:
    """Depth first with two descriptors at most: go down into the first subfolder, delete files
    on the way, come back up through '..' and remove the emptied folder from its parent."""
    if not os.path.isdir(folder) or os.path.islink(folder):
        os.unlink(folder)
        return
    names: list[str] = []  # the path below `folder`, as names: no string ever grows with depth
    stuck: set[tuple[int, str]] = set()  # (depth, name) of entries that could not be removed
    fd = _open_dir(str(folder), None)
    try:
        while True:
            try:
                os.fchmod(fd, 0o700)  # unlinking needs write permission on the folder
            except OSError:
                pass
            sub = None
            with os.scandir(fd) as entries:
                for e in entries:
                    if (len(names), e.name) in stuck:
                        continue
                    if e.is_dir(follow_symlinks=False):
                        sub = e.name
                        break
                    try:
                        os.unlink(e.name, dir_fd=fd)
                    except OSError:
                        stuck.add((len(names), e.name))
            if sub is not None:
                try:
                    child = _open_dir(sub, fd)
                except OSError:
                    stuck.add((len(names), sub))
                    continue
                os.close(fd)
                fd = child
                names.append(sub)
                continue
            if not names:
                break
            parent = os.open("..", _DIR & ~os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = parent
            name = names.pop()
            stuck = {k for k in stuck if k[0] <= len(names)}  # entries below are gone or given up
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError:
                stuck.add((len(names), name))
    finally:
        os.close(fd)
    os.rmdir(folder)


def empty_folder(folder: Path, keep: str = "") -> None:
    """Delete what is in `folder` but the entry named `keep`; what cannot be deleted stays."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        if e.name == keep:
            continue
        try:
            remove_tree(Path(e.path)) if e.is_dir(follow_symlinks=False) else os.unlink(e.path)
        except OSError:
            pass


RUN_PREFIX = "kata-run-"


def run_folder() -> Path:
    """A new temporary folder for one run, named after this process (`kata-run-PID-XXXX`) so
    that a later run can tell a leftover (its process is gone) from one in use."""
    return Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-"))


def sweep_runs(older_than: float = 24 * 3600) -> list[Path]:
    """Remove what runs that were killed (SIGKILL, a power cut) left in the temporary folder:
    our own `kata-run-PID-*` folders whose process no longer exists, and unnamed ones a day
    old. Returns what was removed."""
    removed = []
    tmp = Path(tempfile.gettempdir())
    try:
        entries = list(os.scandir(tmp))
    except OSError:
        return removed
    for e in entries:
        if not e.name.startswith(RUN_PREFIX):
            continue
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            continue
        pid = e.name[len(RUN_PREFIX):].split("-")[0]
        gone = not os.path.exists(f"/proc/{pid}") if pid.isdigit() and os.path.isdir("/proc") else \
            time.time() - st.st_mtime > older_than
        if gone and remove_tree(Path(e.path)):
            removed.append(Path(e.path))
    return removed


def nearly_full(folder: Path, room: int = 64 << 20, inodes: int = 64) -> bool:
    """True when `folder`'s file system has less than `room` bytes or `inodes` files left (as
    the grader sees it: a child's exit code saying "full" is only its say-so)."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return True  # cannot tell: believe the disk was full, as before
    return st.f_bavail * st.f_frsize < room or (st.f_files > 0 and st.f_favail < inodes)


def disk_usage(folder: Path, max_entries: int = 10_000) -> int:
    """Bytes allocated beneath `folder` (sparse files count what they hold); the count stops
    growing past `max_entries` entries, each of which is charged 1 MB (a flood of files)."""
    total, seen, stack = 0, 0, [str(folder)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for e in entries:
            seen += 1
            if seen > max_entries:
                return total + (seen - 1) * (1 << 20)
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            total += st.st_blocks * 512
            if stat.S_ISDIR(st.st_mode):
                stack.append(e.path)
    return total
