"""Advisory file locks: one process trains a run, and suite manifests merge on write.

``fcntl.flock`` is held by an open file, so the kernel releases it when its
process dies, however it dies: a lock left by a killed process never blocks the
next one, and there is nothing stale to clean up. On Linux, ``flock`` on NFS is
carried by NFS byte-range locks, so the locks also hold between the nodes of a
cluster that share the results disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

from ltbench.errors import LtbenchError
from ltbench.progress import console

RUN_LOCK_FILE = ".lock"


class RunInProgress(LtbenchError):
    """Another live process holds the run's lock."""

    def __init__(self, run_dir: Path, holder: str) -> None:
        super().__init__(f"Run {run_dir} is in progress elsewhere ({holder}); "
                         "run the same command again once it has finished.")
        self.run_dir = run_dir


def _acquire(path: Path, wait: bool) -> int:
    """An open descriptor of ``path`` holding its exclusive lock; ``BlockingIOError`` if busy and not waiting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {os.uname().nodename}\n".encode(), 0)
    return fd


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing), waiting for it if need be.

    The lock file holds the holder's pid and is never deleted: unlinking it would
    let a waiter lock a file that no longer has a name while a third process
    locks its replacement.
    """
    fd = _acquire(path, wait=True)
    try:
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def lock_holder(path: Path) -> str:
    """What a lock file says about its holder ("pid N on host"), for messages."""
    try:
        return path.read_text().strip() or "pid unknown"
    except OSError:
        return "pid unknown"


@contextlib.contextmanager
def run_lock(run_dir: Path, wait: bool = False) -> Iterator[None]:
    """Hold ``run_dir``'s lock while it trains; a run locked elsewhere raises ``RunInProgress`` (or waits).

    A run that fails before writing anything (a full or read-only disk) leaves nothing behind: its lock
    file and the folders made for it are removed. Unlinking a lock is unsafe only while another process
    waits on it, and a run that could write nothing has no result for a waiter to reuse anyway.
    """
    path = Path(run_dir) / RUN_LOCK_FILE
    made = [p for p in (Path(run_dir), *Path(run_dir).parents) if not p.exists()]  # deepest first
    try:
        fd = _acquire(path, wait=False)
    except BlockingIOError:
        if not wait:
            raise RunInProgress(Path(run_dir), lock_holder(path)) from None
        console.print(f"[yellow]waiting[/] for {run_dir}, in progress elsewhere ({lock_holder(path)})")
        fd = _acquire(path, wait=True)
    try:
        yield
    except BaseException:
        if os.listdir(run_dir) == [RUN_LOCK_FILE]:
            path.unlink()
            for folder in made:
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise
    finally:
        os.close(fd)


def run_lock_holder(run_dir: Path) -> str | None:
    """Who holds ``run_dir``'s lock now ("pid N on host"), or None; creates nothing (for dry runs)."""
    path = Path(run_dir) / RUN_LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        return lock_holder(path)
    finally:
        os.close(fd)


def manifest_lock(manifest: Path) -> contextlib.AbstractContextManager[None]:
    """The lock under which a suite manifest is read, merged and written (a hidden file beside it)."""
    return file_lock(manifest.with_name(f".{manifest.name}.lock"))
