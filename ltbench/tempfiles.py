"""Temp files that say who wrote them, so the ones a killed process left behind can be swept.

Every atomic write goes through a temp file ``.<name>.<pid>.<random>.tmp``
beside its target. SIGKILL or an out-of-memory kill gives the writer no chance
to delete it, and a checkpoint's temp file can be hundreds of MB; a later
process deletes the temp files whose writer is no longer alive.
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import time
from pathlib import Path

SUFFIX = ".tmp"
# .<target>.<pid>.<8 hex>.tmp; older versions wrote .<target>.<random>.tmp without a pid
PATTERN = re.compile(r"^\.(?P<target>.+?)\.(?:(?P<pid>\d+)\.[0-9a-f]{8}|[A-Za-z0-9_]{8})\.tmp$")
LEGACY_AGE_S = 600  # a temp file without a pid is a leftover once nobody has touched it for this long


def temp_path(path: Path) -> Path:
    """A fresh temp file name beside ``path`` carrying this process's pid."""
    return path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{SUFFIX}"


def sweep_stale_temp_files(folder: str | os.PathLike[str], target: str | None = None) -> list[Path]:
    """Delete the temp files in ``folder`` (of ``target`` only, when given) whose writer is gone.

    Gone means: its pid is not a live process on this machine, or, for a
    temp file without a pid, untouched for ``LEGACY_AGE_S``. Returns what was
    deleted. A missing folder has nothing to sweep.
    """
    folder = Path(folder)
    pattern = f".{glob.escape(target)}.*{SUFFIX}" if target else f".*{SUFFIX}"
    deleted = []
    try:
        candidates = list(folder.glob(pattern))
    except OSError:
        return deleted
    for candidate in candidates:
        match = PATTERN.match(candidate.name)
        wrong_target = match is None or (target is not None and match["target"] != target)
        if wrong_target or not _is_stale(candidate, match["pid"]):
            continue
        try:
            candidate.unlink()
            deleted.append(candidate)
        except OSError:  # another process swept it first, or we may not delete it: not our problem here
            pass
    return deleted


def _is_stale(path: Path, pid: str | None) -> bool:
    if pid is not None:
        return not pid_alive(int(pid))
    try:
        return time.time() - path.stat().st_mtime > LEGACY_AGE_S
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

