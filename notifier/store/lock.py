"""One daemon per state file: a second `notifier run` on the same file would send every notification twice.

The lock is an advisory `flock` on `<state file>.lock`, held for the life of the process; the kernel drops it
when the process ends, however it ends, so a crash never leaves a stale lock behind (the file left by a crash
is only a file: the next daemon takes the lock on it). A clean exit removes the file. Operator commands
(`outbox`, `silence`) do not take it: they are meant to run beside the daemon.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class StateInUse(RuntimeError):
    """Another process holds the state file."""


@contextlib.contextmanager
def exclusive(state: Path) -> Iterator[None]:
    path = state.with_name(state.name + ".lock")
    fd = _locked(path, state)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        # Removed while still held: a daemon starting now either locked this file before us (and waits for
        # nothing: we held it) or opens a fresh one after the unlink, which `_locked` tells apart by inode.
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)


def _locked(path: Path, state: Path) -> int:
    """A descriptor holding the lock on the file that is at `path` now (not one removed meanwhile)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise StateInUse(f"{state} is in use by another notifier (pid {holder})") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the previous holder removed the file as we opened it: lock the new one instead


def _holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode().strip() or "unknown"
    except OSError:
        return "unknown"
