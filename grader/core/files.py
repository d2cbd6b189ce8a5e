"""Files that must never be lost or silently changed. No torch.

- `atomic_write`: temp file in the same folder, then rename, so an interrupted write
  leaves the old file or the new one, never half of one.
- `Snapshot`: the bytes of a set of files before a run; `restore_changed` puts back
  anything a submission deleted or rewrote and says which, keeping the other version in
  a backup (the change may have been a person's edit during the run).
- `backup`: a timestamped copy next to a file, before anything replaces it.
- `read_workspace_file`: a kata file or helper module, only if it is a regular file of the
  workspace under a size cap (a FIFO would hang the grader, /dev/zero exhaust its memory).
- run folders (their creation, sweeping and removal) are in `grader.core.runfolders`.

Nothing here opens a file that a submission could have replaced without O_NONBLOCK and a
check that it is a regular file (grader.sandbox.untrusted).
"""
from __future__ import annotations

import os
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.sandbox.untrusted import Untrusted, encodable, read_capped

GUARDED_CAP = 16 << 20  # largest guarded file the snapshot reads (grader modules are a few kB)


def atomic_write(path: Path, data: bytes | str) -> None:
    path = Path(path)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:  # keep the file's permissions (mkstemp makes it 0600); a new file gets the usual 0666 & ~umask
            mode = path.stat().st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_output(path: Path, data: str) -> None:
    """A file the user asked for (--csv, --json, --junit, --summary). A regular file is replaced
    atomically; a link is followed and its target written so (the link stays a link); a device,
    FIFO or terminal (/dev/stdout, /dev/full) is written through, never replaced. Raises OSError.

    Never a Python source file (refused, as by `grader.commands._common.writable`): a kata file or
    a helper module named by mistake (`--junit ws/dpo.py`) would be lost. Text that strict UTF-8
    cannot hold (a lone surrogate from a child or a folder name) is written escaped."""
    path = Path(path)
    if is_source(path):
        raise PermissionError(1, "it is a Python source file (a kata file?), never an output", str(path))
    data = encodable(data)
    if os.path.islink(path):
        path = Path(os.path.realpath(path))
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = stat.S_IFREG
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(21, "it is a folder", str(path))
    if not stat.S_ISREG(mode):
        with open(path, "w", encoding="utf-8") as f:  # O_NONBLOCK would drop output a slow pipe reader wants
            f.write(data)
        return
    atomic_write(path, data)


def is_source(path: Path) -> bool:
    """Whether `path`, or the file a link there leads to, is Python source: never an output file."""
    path = Path(path)
    try:
        real = Path(os.path.realpath(path))
    except (OSError, ValueError):
        real = path
    return path.suffix.lower() in (".py", ".pyw") or real.suffix.lower() in (".py", ".pyw")


def _umask() -> int:
    """The process's umask, read without changing it (os.umask can only be read by setting it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def backup_name(path: Path, tag: str = "kata-backup") -> str:
    """`NAME.TAG-YYYYmmdd-HHMMSS[-N]`: a name beside `path` that is not taken yet."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{path.name}.{tag}-{stamp}"
    n = 1
    while path.with_name(name).exists():
        n += 1
        name = f"{path.name}.{tag}-{stamp}-{n}"
    return name


def backup(path: Path) -> Path:
    """Copy `path` to `NAME.kata-backup-YYYYmmdd-HHMMSS[-N]` beside it and return the copy's path."""
    path = Path(path)
    target = path.with_name(backup_name(path))
    atomic_write(target, path.read_bytes())
    os.chmod(target, path.stat().st_mode & 0o7777)  # a backup of a private file stays private
    return target


def move_aside(path: Path) -> Path:
    """Rename `path` to `NAME.kata-backup-YYYYmmdd-HHMMSS[-N]` beside it and return the new path.
    Never a copy: the file may be a sparse 400 MB one that a copy would read whole and write dense."""
    path = Path(path)
    target = path.with_name(backup_name(path))
    os.rename(path, target)
    return target


@dataclass
class Change:
    """A guarded file that differed after a run, and what was done about it. Nothing is lost:
    whichever version is not put in place is kept in a backup beside it."""

    path: Path
    kind: str  # "changed" (restored) | "deleted" (put back) | "kept" (left as is) | "planted" (moved aside)
    #          | "metadata" (mode or owner put back) | "unrestorable" (the repair itself failed: `reason`)
    saved: Path | None = None  # the backup: the changed version ("changed"), the run's version ("kept")
    reason: str = ""

    def __str__(self) -> str:
        if self.kind == "metadata":
            return f"{self.path} ({self.reason}; put back)"
        if self.kind == "unrestorable":
            return f"{self.path} (changed during the run and could not be restored: {self.reason})"
        if self.kind == "deleted":
            return f"{self.path} (deleted; put back)"
        if self.kind == "kept":
            return (f"{self.path} (changed during the run and left as it is; "
                    f"the version graded is saved as {self.saved})")
        if self.kind == "planted":
            return f"{self.path} (a new package shadowing a module; moved to {self.saved})"
        return f"{self.path} (restored; the changed version is saved as {self.saved})"


def _stat_key(p: Path) -> tuple[int, int, int, int] | None:
    """Identity of a file's current version; the change time cannot be set back by a process."""
    try:
        st = p.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


Meta = tuple[int, int, int]  # mode bits, owner, group


def _meta(p: Path) -> Meta | None:
    try:
        st = os.stat(p)
    except OSError:
        return None
    return (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def _read_guarded(p: Path) -> bytes | None:
    """A guarded file's bytes; None when it is missing, unreadable or no longer a regular file."""
    try:
        return read_capped(str(p), GUARDED_CAP, follow=True)
    except (OSError, Untrusted):
        return None


@dataclass
class Snapshot:
    files: dict[Path, bytes | None]  # None: the file did not exist
    roots: tuple[Path, ...] = ()  # package folders: also watched for planted packages and bytecode
    caches: dict[Path, tuple[int, int, int, int] | None] = field(default_factory=dict)
    folders: set[Path] = field(default_factory=set)
    meta: dict[Path, Meta] = field(default_factory=dict)  # mode and owner, restored like the bytes

    @classmethod
    def take(cls, paths: list[Path], roots: tuple[Path, ...] | list[Path] = ()) -> "Snapshot":
        files = {Path(p): _read_guarded(Path(p)) for p in paths}
        snap = cls(files, tuple(Path(r) for r in roots))
        snap.meta = {p: m for p in files if (m := _meta(p)) is not None}
        for root in snap.roots:
            for d in _folders(root):
                snap.folders.add(d)
                if d.name == "__pycache__":
                    snap.caches.update((c, _stat_key(c)) for c in d.iterdir())
        return snap

    def changed(self) -> list[Path]:
        """Guarded files whose bytes, mode or owner differ from the snapshot's."""
        return [p for p, data in self.files.items()
                if self.meta.get(p, _meta(p)) != _meta(p) or (data is not None and _read_guarded(p) != data)]

    def restore_changed(self, keep: tuple[Path, ...] | list[Path] | set[Path] = ()) -> list[Change]:
        """Undo what a run changed; return what had changed.

        Mode and owner are put back first (a file made unreadable would otherwise look deleted).
        A changed file is restored after its changed version is saved to a backup (a person may
        have edited it during the run); a deleted one is put back. Files in `keep` (the user's
        own workspace files) are never overwritten: the version the run started from is saved to
        a backup instead. New bytecode in the roots' `__pycache__` folders is deleted (Python
        writes it again; a planted .pyc would run instead of its source), and a new package that
        shadows a module of the same name is moved aside. A repair that fails (a full disk) is
        reported as such; it never stops the others.
        """
        keep = {Path(p) for p in keep}
        changes = []
        for p, data in self.files.items():
            try:
                change = self._restore_one(p, data, p in keep)
            except OSError as exc:
                change = Change(p, "unrestorable", reason=f"{exc.strerror or exc}")
            changes.extend(change if isinstance(change, list) else [change] if change else [])
        for root in self.roots:
            for d in _folders(root):
                try:
                    changes.extend(self._sweep_folder(d))
                except OSError as exc:
                    changes.append(Change(d, "unrestorable", reason=f"{exc.strerror or exc}"))
        return changes

    def _restore_one(self, p: Path, data: bytes | None, own: bool) -> list[Change]:
        changes = []
        before, now = self.meta.get(p), _meta(p)
        if before is not None and now is not None and now != before:
            os.chmod(p, before[0])
            if now[1:] != before[1:]:
                os.chown(p, before[1], before[2])
            said = [f"mode {now[0]:04o} instead of {before[0]:04o}"] if now[0] != before[0] else []
            said += [f"owner {now[1]}:{now[2]} instead of {before[1]}:{before[2]}"] if now[1:] != before[1:] else []
            changes.append(Change(p, "metadata", reason=", ".join(said)))
        if data is None:  # a file that did not exist (or could not be read) then: not ours to judge
            return changes
        current = _read_guarded(p)
        if current == data:
            return changes
        if current is None and os.path.lexists(p) and not (os.path.isfile(p) and not os.path.islink(p)):
            moved = p.with_name(backup_name(p, "kata-quarantine"))  # a FIFO, folder or link in its place
            os.rename(p, moved)
        if not os.path.lexists(p):
            p.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(p, data)
            if before is not None:
                os.chmod(p, before[0])
            changes.append(Change(p, "deleted"))
        elif own:
            saved = p.with_name(backup_name(p))
            atomic_write(saved, data)
            changes.append(Change(p, "kept", saved))
        else:
            saved = backup(p)
            atomic_write(p, data)
            changes.append(Change(p, "changed", saved))
        return changes

    def _sweep_folder(self, d: Path) -> list[Change]:
        if d.name == "__pycache__":
            for c in d.iterdir():
                if c not in self.caches or _stat_key(c) != self.caches[c]:
                    try:
                        c.unlink()
                    except OSError:
                        pass
        elif d not in self.folders and (d.parent / f"{d.name}.py").exists() and (d / "__init__.py").exists():
            moved = d.with_name(backup_name(d, "kata-quarantine"))
            d.rename(moved)
            return [Change(d, "planted", moved)]
        return []


# ------------------------------------------------------------------ workspace files
def read_workspace_file(path: Path, workspace: Path, cap: int) -> bytes:
    """The bytes of a kata file or helper module, or Untrusted saying why it is not used: it must
    be a regular file (a link is followed only to a regular file inside the workspace) of at
    most `cap` bytes. Never blocks (a FIFO), never reads a device (/dev/zero) or a folder."""
    path = Path(path)
    if path.is_symlink():
        target = os.path.realpath(path)
        root = os.path.realpath(workspace)
        if os.path.commonpath([target, root]) != root:
            raise Untrusted(f"{path.name} is a link to {target}, outside the workspace")
        path = Path(target)
    try:
        return read_capped(str(path), cap)
    except Untrusted as exc:
        raise Untrusted(str(exc).replace(str(path), path.name, 1)) from None


WORKSPACE_FILE_CAP = 1 << 20  # a kata file or helper module: the grader reads no more (Limits.source_cap)


def read_if_regular(path: Path, cap: int = WORKSPACE_FILE_CAP) -> bytes | None:
    """A workspace file's bytes for a quick look (`kata list`, watch, progress digests); None when
    it is missing, not a regular file (a FIFO would block, a device never end) or too large."""
    try:
        return read_capped(str(path), cap, follow=True)
    except (OSError, Untrusted):
        return None


def _folders(root: Path) -> list[Path]:
    return [Path(dirpath) for dirpath, _, _ in os.walk(root)] if Path(root).is_dir() else []


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*.py") if "__pycache__" not in p.parts)
