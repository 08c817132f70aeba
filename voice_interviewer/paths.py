"""Where the user's data lives, and keeping it private."""

from __future__ import annotations

import os
from pathlib import Path

from voice_interviewer.errors import UserError

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def data_home() -> Path:
    """$VOICE_INTERVIEWER_HOME, else $XDG_DATA_HOME/voice-interviewer, else ~/.local/share/voice-interviewer."""
    if os.environ.get("VOICE_INTERVIEWER_HOME"):
        return Path(os.environ["VOICE_INTERVIEWER_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "voice-interviewer"


def config_home() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "voice-interviewer"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the user alone; recordings are personal data."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
        os.chmod(path, PRIVATE_DIR_MODE)
    except OSError as exc:
        raise UserError(f"{path}: cannot create folder ({exc.strerror})") from None
    return path


def writable_dir(path: Path) -> Path:
    """Create ``path`` if needed and check that files can be written there."""
    private_dir(path)
    probe = path / ".write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{path}: cannot write there ({exc.strerror})") from None
    return path


def open_private(path: Path, mode: str = "w"):
    """Open ``path`` for writing ("w" or "wb"), readable by the user alone, even if it existed.

    ``os.open``'s mode only applies to a new file, so an existing file is
    chmod-ed too; matplotlib's and numpy's own writers would leave 0644.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"open_private: mode must be 'w' or 'wb', not {mode!r}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, mode, encoding="utf-8") if mode == "w" else os.fdopen(fd, mode)
