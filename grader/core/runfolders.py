"""The temporary folders of runs: made, measured, emptied and removed, whatever a child did to
them, and swept after a run that was killed. No torch.
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from pathlib import Path


def remove_tree(folder: Path) -> bool:
    """Delete `folder` even where a child made parts of it unreadable (mode 000 folders):
    permissions are given back to the owner and the deletion retried. True when it is gone."""
    def retry(func, path, _exc):  # shutil's onerror
        try:
            os.chmod(os.path.dirname(path), 0o700)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
                shutil.rmtree(path, ignore_errors=True)
            else:
                func(path)
        except OSError:
            pass

    shutil.rmtree(folder, onerror=retry)
    return not os.path.lexists(folder)


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
