"""Where the user's data lives, and keeping it private."""

from __future__ import annotations

import os
from pathlib import Path

from voice_interviewer.errors import UserError

PRIVATE_DIR_MODE = 0o700


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
