"""Files that must never be lost or silently changed. No torch.

- `atomic_write`: temp file in the same folder, then rename, so an interrupted write
  leaves the old file or the new one, never half of one.
- `Snapshot`: the bytes of a set of files before a run; `restore_changed` puts back
  anything a submission deleted or rewrote and says which, keeping the other version in
  a backup (the change may have been a person's edit during the run).
- `backup`: a timestamped copy next to a file, before anything replaces it.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


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


@dataclass
class Change:
    """A guarded file that differed after a run, and what was done about it. Nothing is lost:
    whichever version is not put in place is kept in a backup beside it."""

    path: Path
    kind: str  # "changed" (restored) | "deleted" (put back) | "kept" (left as is) | "planted" (moved aside)
    saved: Path | None = None  # the backup: the changed version ("changed"), the run's version ("kept")

    def __str__(self) -> str:
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


@dataclass
class Snapshot:
    files: dict[Path, bytes | None]  # None: the file did not exist
    roots: tuple[Path, ...] = ()  # package folders: also watched for planted packages and bytecode
    caches: dict[Path, tuple[int, int, int, int] | None] = field(default_factory=dict)
    folders: set[Path] = field(default_factory=set)

    @classmethod
    def take(cls, paths: list[Path], roots: tuple[Path, ...] | list[Path] = ()) -> "Snapshot":
        files: dict[Path, bytes | None] = {}
        for p in paths:
            try:
                files[Path(p)] = Path(p).read_bytes()
            except OSError:
                files[Path(p)] = None
        snap = cls(files, tuple(Path(r) for r in roots))
        for root in snap.roots:
            for d in _folders(root):
                snap.folders.add(d)
                if d.name == "__pycache__":
                    snap.caches.update((c, _stat_key(c)) for c in d.iterdir())
        return snap

    def changed(self) -> list[Path]:
        out = []
        for p, data in self.files.items():
            try:
                now: bytes | None = p.read_bytes()
            except OSError:
                now = None
            if now != data:
                out.append(p)
        return out

    def restore_changed(self, keep: tuple[Path, ...] | list[Path] | set[Path] = ()) -> list[Change]:
        """Undo what a run changed; return what had changed.

        A changed file is restored after its changed version is saved to a backup (a person may
        have edited it during the run); a deleted one is put back. Files in `keep` (the user's
        own workspace files) are never overwritten: the version the run started from is saved to
        a backup instead. New bytecode in the roots' `__pycache__` folders is deleted (Python
        writes it again; a planted .pyc would run instead of its source), and a new package that
        shadows a module of the same name is moved aside.
        """
        keep = {Path(p) for p in keep}
        changes = []
        for p in self.changed():
            data = self.files[p]
            if data is None:  # a file that did not exist then does now: not ours to judge
                continue
            if not p.exists():
                p.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(p, data)
                changes.append(Change(p, "deleted"))
            elif p in keep:
                saved = p.with_name(backup_name(p))
                atomic_write(saved, data)
                changes.append(Change(p, "kept", saved))
            else:
                saved = backup(p)
                atomic_write(p, data)
                changes.append(Change(p, "changed", saved))
        for root in self.roots:
            for d in _folders(root):
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
                    changes.append(Change(d, "planted", moved))
        return changes


def _folders(root: Path) -> list[Path]:
    return [Path(dirpath) for dirpath, _, _ in os.walk(root)] if Path(root).is_dir() else []


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*.py") if "__pycache__" not in p.parts)
