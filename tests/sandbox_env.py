"""Helpers for the tests that grade hostile workspaces through the real command: a launcher
that starts `kata` as its console script does (the script's folder first on the import path,
never the working folder), resource figures of the whole process tree, strict JSON, and an
unprivileged user to run it as.
"""
from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.core import workspace

ROOT = workspace.PACKAGE_ROOT
USER = "kata-test"  # created when the tests run as root and it does not exist


def launcher(folder: Path) -> Path:
    """`folder/bin/kata`: what pip's console script does, importing this checkout's grader."""
    script = folder / "bin" / "kata"
    if not script.exists():
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(f"import sys\nsys.path.insert(1, {str(ROOT)!r})\nsys.argv[0] = 'kata'\n"
                          "from grader.cli import run\nrun()\n")
        script.parent.chmod(0o755)
        script.chmod(0o755)
    return script


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float  # the largest resident set of any process of the run (grader, zygote, children)


@dataclass
class Runner:
    """Runs `kata ARGS` as a user (None: as this process's user) with a given interpreter."""

    python: str = sys.executable
    uid: int | None = None
    gid: int | None = None
    env: dict[str, str] = field(default_factory=dict)

    def kata(self, args: list[str], cwd: Path, folder: Path, env: dict[str, str] | None = None,
             timeout: float = 600) -> Finished:
        script = launcher(folder)
        out, err = folder / "stdout.txt", folder / "stderr.txt"
        full_env = {**os.environ, **self.env, **(env or {})}
        started = time.monotonic()
        with open(out, "w") as o, open(err, "w") as e:
            extra = {"user": self.uid, "group": self.gid, "extra_groups": []} if self.uid is not None else {}
            p = subprocess.Popen([self.python, str(script), *args], cwd=cwd, stdout=o, stderr=e, env=full_env,
                                 stdin=subprocess.DEVNULL, **extra)
            deadline = time.monotonic() + timeout
            while True:
                pid, status, usage = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    p.kill()
                    raise AssertionError(f"kata {' '.join(args)} did not end within {timeout} s")
                time.sleep(0.05)
            p.returncode = os.waitstatus_to_exitcode(status)
        return Finished(p.returncode, out.read_text(), err.read_text(), time.monotonic() - started,
                        usage.ru_maxrss / 1024)

    def run(self, argv: list[str], **kw) -> subprocess.CompletedProcess:
        extra = {"user": self.uid, "group": self.gid, "extra_groups": []} if self.uid is not None else {}
        return subprocess.run(argv, env={**os.environ, **self.env, **kw.pop("env", {})}, **extra, **kw)

    def own(self, path: Path) -> None:
        """Give `path` (recursively) to this runner's user."""
        if self.uid is None:
            return
        for p in [path, *path.rglob("*")]:
            os.chown(p, self.uid, self.gid, follow_symlinks=False)


def strict_json(text: str):
    """json.loads that refuses NaN, Infinity and -Infinity (as every parser but Python's does)."""
    def refuse(token: str):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def unprivileged_runner() -> tuple[Runner | None, str, list]:
    """(a Runner for an unprivileged user, why there is none, cleanups). As root: the user
    `kata-test`, created if missing, with this interpreter reachable through a bind mount of its
    prefix (it may live under /root, which others cannot enter)."""
    if os.geteuid() != 0:
        return Runner(), "", []
    cleanups = []
    try:
        try:
            entry = pwd.getpwnam(USER)
        except KeyError:
            subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True,
                           capture_output=True)
            entry = pwd.getpwnam(USER)
        prefix = Path(sys.base_prefix).resolve()
        exe = Path(sys.executable).resolve()
        try:
            reachable = subprocess.run([str(exe), "-c", "import torch"], user=entry.pw_uid, group=entry.pw_gid,
                                       extra_groups=[], capture_output=True).returncode == 0
        except OSError:  # the interpreter cannot even be executed by that user
            reachable = False
        if reachable:
            return Runner(str(exe), entry.pw_uid, entry.pw_gid, {"HOME": "/tmp"}), "", cleanups
        mount = Path(tempfile.mkdtemp(prefix="kata-test-python-", dir="/tmp"))
        mount.chmod(0o755)
        subprocess.run(["mount", "--bind", "-o", "ro", str(prefix), str(mount)], check=True, capture_output=True)
        cleanups.append(lambda: (subprocess.run(["umount", "-l", str(mount)], capture_output=True), mount.rmdir()))
        runner = Runner(str(mount / exe.relative_to(prefix)), entry.pw_uid, entry.pw_gid,
                        {"LD_LIBRARY_PATH": str(mount / "lib"), "HOME": "/tmp"})
        probe = runner.run([runner.python, "-c", "import torch, click, rich"], capture_output=True, text=True)
        if probe.returncode != 0:
            raise RuntimeError(f"the interpreter does not start for {USER}: {probe.stderr[-300:]}")
        return runner, "", cleanups
    except (OSError, subprocess.CalledProcessError, RuntimeError, ValueError) as exc:
        for c in reversed(cleanups):
            c()
        return None, f"no unprivileged user to run the grader as: {exc}", []
