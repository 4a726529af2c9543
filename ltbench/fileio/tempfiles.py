"""Temp files that say who wrote them, so the ones a killed process left behind can be swept.

Every atomic write goes through a temp file ``.<name>.<pid>.<host>.<random>.tmp``
beside its target. SIGKILL or an out-of-memory kill gives the writer no chance
to delete it, and a checkpoint's temp file can be hundreds of MB; a later
process deletes the temp files whose writer is no longer alive. ``<host>``
(a hash of the machine's name) keeps a machine from judging the pids of
another that writes to the same shared disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
import time
from pathlib import Path

SUFFIX = ".tmp"
HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
# .<target>.<pid>.<host>.<8 hex>.tmp; versions before pids wrote .<target>.<8 random characters>.tmp
PATTERN = re.compile(r"^\.(?P<target>.+?)\.(?:(?P<pid>\d+)\.(?P<host>[0-9a-f]{6})\.[0-9a-f]{8}|\w{8})\.tmp$")
UNTOUCHED_S = 3600  # a temp file nobody can vouch for is a leftover once untouched this long (writers stream)


def temp_path(path: Path) -> Path:
    """A fresh temp file name beside ``path`` naming this process and machine."""
    return path.parent / f".{path.name}.{os.getpid()}.{HOST}.{secrets.token_hex(4)}{SUFFIX}"


def sweep_stale_temp_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temp files in ``folder`` whose writer is gone; return them.

    Gone means: written on this machine by a pid that is no longer a live
    process, or (another machine's, or from before pids were recorded)
    untouched for ``UNTOUCHED_S``. A missing folder has nothing to sweep.
    """
    deleted = []
    try:
        candidates = list(Path(folder).glob(f".*{SUFFIX}"))
    except OSError:
        return deleted
    for candidate in candidates:
        match = PATTERN.match(candidate.name)
        if match is None or not _is_stale(candidate, match["pid"], match["host"]):
            continue
        try:
            candidate.unlink()
            deleted.append(candidate)
        except OSError:  # another process swept it first, or we may not delete it: not our problem here
            pass
    return deleted


def _is_stale(path: Path, pid: str | None, host: str | None) -> bool:
    if pid is not None and host == HOST:
        return not pid_alive(int(pid))
    try:
        return time.time() - path.stat().st_mtime > UNTOUCHED_S
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")  # a killed writer whose parent has not reaped it yet
