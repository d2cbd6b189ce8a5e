"""Files that must never be lost or silently changed. No torch.

- `atomic_write`: temp file in the same folder, then rename, so an interrupted write
  leaves the old file or the new one, never half of one.
- `Snapshot`: the bytes of a set of files before a run; `restore_changed` puts back
  anything a submission deleted or rewrote and says which.
- `backup`: a timestamped copy next to a file, before anything replaces it.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def atomic_write(path: Path, data: bytes | str) -> None:
    path = Path(path)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
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


def backup(path: Path) -> Path:
    """Copy `path` to `NAME.kata-backup-YYYYmmdd-HHMMSS[-N]` beside it and return the copy's path."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.kata-backup-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.kata-backup-{stamp}-{n}")
    atomic_write(target, path.read_bytes())
    return target


@dataclass
class Snapshot:
    files: dict[Path, bytes | None]  # None: the file did not exist

    @classmethod
    def take(cls, paths: list[Path]) -> "Snapshot":
        files: dict[Path, bytes | None] = {}
        for p in paths:
            try:
                files[Path(p)] = Path(p).read_bytes()
            except OSError:
                files[Path(p)] = None
        return cls(files)

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

    def restore_changed(self) -> list[Path]:
        """Put every changed file back as it was; return the paths that had changed."""
        changed = self.changed()
        for p in changed:
            data = self.files[p]
            if data is None:
                try:
                    p.unlink()
                except OSError:
                    pass
            else:
                p.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(p, data)
        return changed


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*.py") if "__pycache__" not in p.parts)
