"""Reading what a sandboxed child leaves behind (its result file, its log): untrusted data.

A child can replace either file with a FIFO (a plain `open` would wait forever), a link to
/dev/zero (read until memory runs out), a directory, or a result whose contents are built to
hurt the reader: nesting thousands deep, millions of values, numbers such as `inf` where a
count belongs, tensors that are stride-0 views claiming 2**26 elements each. So every file is
opened with O_NOFOLLOW | O_NONBLOCK and must be a regular file under a size cap; what it holds
is then read within the bounds below (grader.sandbox.plain), and tensors are checked against a
size bound derived from the kata's own inputs before they are copied out.
"""
from __future__ import annotations

import os
import stat

O_UNTRUSTED = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
MAX_DEPTH = 32  # nesting of containers in an honest result: about 6
MAX_NODES = 200_000  # containers, strings, numbers and tensors in one result
MAX_STRING = 64 << 10  # characters in one string (messages, output tails)
MAX_TOTAL_ELEMENTS = 1 << 25  # tensor elements in one result, all tensors together (256 MB of float64)


def encodable(text: str) -> str:
    """`text` made writable as UTF-8: a lone surrogate (a child's "\\ud800", a folder name's byte
    \\xff read as "\\udcff") becomes its escape, backslash and all. Applied to text from children
    and from file names before it is stored, rendered or written: strict UTF-8 output (a
    terminal, PYTHONIOENCODING=utf-8, a CSV file) would otherwise fail on it."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class Untrusted(Exception):
    """Why a child's file or data cannot be used; the message completes "the results ...".""" 


def kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, word in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return word
    return "not a regular file"


def open_regular(path: str, follow: bool = False) -> tuple[int, os.stat_result]:
    """An fd on `path`, which must be a regular file: never blocks, never follows a last-component
    link unless `follow`. Raises FileNotFoundError, or Untrusted saying what the path is instead."""
    flags = O_UNTRUSTED & ~os.O_NOFOLLOW if follow else O_UNTRUSTED
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: the last component is a symbolic link
            raise Untrusted(f"{path} is a symbolic link") from None
        raise Untrusted(f"{path} cannot be opened: {exc.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Untrusted(f"{path} is {kind(st.st_mode)}, not a regular file")
    return fd, st


def read_capped(path: str, cap: int, follow: bool = False) -> bytes:
    """The bytes of regular file `path`, refused (Untrusted) when it holds more than `cap`."""
    fd, st = open_regular(path, follow)
    try:
        if st.st_size > cap:
            raise Untrusted(f"{path} is {st.st_size / 2**20:.1f} MB; at most {cap / 2**20:.0f} MB is read")
        chunks, total = [], 0
        while True:  # the size may grow while we read: read to the cap and no further
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise Untrusted(f"{path} grew past {cap / 2**20:.0f} MB while it was read")
    finally:
        os.close(fd)


def read_tail(path: str, limit: int = 2000) -> tuple[int, str]:
    """(size, the last `limit` bytes as text) of a child's log; (0, "") when it is unusable."""
    try:
        fd, st = open_regular(path)
    except (OSError, Untrusted):
        return 0, ""
    try:
        os.lseek(fd, max(0, st.st_size - limit), os.SEEK_SET)
        return st.st_size, os.read(fd, limit).decode("utf-8", "replace")
    except OSError:
        return 0, ""
    finally:
        os.close(fd)
