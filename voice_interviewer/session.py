"""The session folder: what live practice writes and replay reads.

    <sessions>/2026-12-04T02-13-07_core-api-500s/     (mode 0700)
      candidate.wav     mic after echo cancelling, 16 kHz mono int16, t=0 at sample 0
      interviewer.wav   what was played, 16 kHz mono int16, same clock
      events.jsonl      one event per line (events.py), flushed and fsync'd each
      meta.json         scenario id, seed, mode, models, versions, t0_s
      report.json / report.md / report.html   written at the end, and by replay

Both WAVs are written incrementally and their headers rewritten every
``HEADER_EVERY_S`` seconds, so a process killed with SIGKILL leaves files that
:func:`read_wav_tolerant` can read to the last block written.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import re
import struct
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voice_interviewer import __version__
from voice_interviewer.errors import UserError
from voice_interviewer.events import Event, EventLog, read_events
from voice_interviewer.paths import PRIVATE_DIR_MODE, data_home, open_private, private_dir

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
CANDIDATE_WAV = "candidate.wav"
INTERVIEWER_WAV = "interviewer.wav"
EVENTS_JSONL = "events.jsonl"
META_JSON = "meta.json"
HEADER_EVERY_S = 1.0
FORMAT_VERSION = 1
MAX_NAME_CHARS = 64  # the scenario id slug's limit (scenario.ID_PATTERN)
MAX_SAME_SECOND = 1000  # folders tried for one stamp before giving up


def is_session_folder(path: Path) -> bool:
    return path.is_dir() and (path / EVENTS_JSONL).is_file()


def default_sessions_dir() -> Path:
    return data_home() / "sessions"


def safe_folder_name(name: str) -> str:
    """``name`` as a lowercase slug (letters, digits, hyphens) that cannot leave its folder.

    Scenario ids are validated as slugs on load (scenario.py), but a session
    folder name is built here from whatever the caller passes, so it is
    sanitised again: "../../etc" becomes "etc", never a path.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:MAX_NAME_CHARS].strip("-")
    return slug or "session"


def new_session_dir(scenario_id: str, sessions_dir: Path | None = None) -> Path:
    """A new, empty, private folder ``<stamp>_<scenario id>`` inside the sessions folder.

    The folder is created with a plain mkdir, which fails if it exists, so two
    sessions started in the same second get ``..._id`` and ``..._id-2``
    rather than one shared folder, even from two processes at once.
    """
    root = private_dir(sessions_dir or default_sessions_dir()).resolve()
    stamp = dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    base = f"{stamp}_{safe_folder_name(scenario_id)}"
    for n in range(1, MAX_SAME_SECOND + 1):
        path = root / (base if n == 1 else f"{base}-{n}")
        if path.resolve().parent != root:
            raise UserError(f"{path}: session folder would be outside {root}")
        try:
            path.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue
        except OSError as exc:
            raise UserError(f"{path}: cannot create folder ({exc.strerror})") from None
        os.chmod(path, PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask
        return path
    raise UserError(f"{root}: {MAX_SAME_SECOND} sessions named {base} already exist")


class IncrementalWav:
    """A 16-bit mono WAV that is valid on disk after every header refresh."""

    def __init__(self, path: Path, sample_rate: int = SAMPLE_RATE):
        self.path = path
        self.sample_rate = sample_rate
        self.samples_written = 0
        self._since_header = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._f = os.fdopen(fd, "wb")
        self._write_header()

    def _write_header(self) -> None:
        data_bytes = self.samples_written * 2
        header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, self.sample_rate, self.sample_rate * 2, 2, 16)
        header += b"data" + struct.pack("<I", data_bytes)
        pos = self._f.tell()
        self._f.seek(0)
        self._f.write(header)
        self._f.seek(max(pos, 44))

    def write_float32(self, samples_float32: np.ndarray) -> None:
        pcm = np.clip(samples_float32, -1.0, 1.0)
        self.write_int16((pcm * 32767.0).astype("<i2"))

    def write_int16(self, samples_int16: np.ndarray) -> None:
        self._f.write(np.asarray(samples_int16, dtype="<i2").tobytes())
        self.samples_written += len(samples_int16)
        self._since_header += len(samples_int16)
        if self._since_header >= HEADER_EVERY_S * self.sample_rate:
            self.flush()

    def pad_to(self, t_s: float) -> None:
        """Write silence so the next sample lands at ``t_s`` on the session clock."""
        missing = int(round(t_s * self.sample_rate)) - self.samples_written
        if missing > 0:
            self.write_int16(np.zeros(missing, dtype="<i2"))

    def flush(self) -> None:
        self._write_header()
        self._f.flush()
        os.fsync(self._f.fileno())
        self._since_header = 0

    def close(self) -> None:
        if not self._f.closed:
            self.flush()
            self._f.close()


def read_wav_tolerant(path: Path) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV as float32, trusting the file size over a stale header."""
    raw = path.read_bytes()
    if len(raw) < 44 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise UserError(f"{path}: not a WAV file")
    try:
        with wave.open(str(path)) as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
    except (wave.Error, EOFError) as exc:
        raise UserError(f"{path}: unreadable WAV ({exc})") from None
    if width != 2:
        raise UserError(f"{path}: expected 16-bit PCM")
    data_at = raw.find(b"data", 12)
    body = raw[data_at + 8:]
    body = body[: len(body) - len(body) % (2 * channels)]
    pcm = np.frombuffer(body, dtype="<i2").reshape(-1, channels).mean(axis=1)
    return (pcm / 32768.0).astype(np.float32), rate


@dataclass
class SessionWriter:
    """Everything a live session records, opened at the start."""

    folder: Path
    events: EventLog
    candidate: IncrementalWav
    interviewer: IncrementalWav
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, folder: Path, meta: dict[str, Any]) -> "SessionWriter":
        private_dir(folder)
        writer = cls(
            folder=folder,
            events=EventLog(folder / EVENTS_JSONL),
            candidate=IncrementalWav(folder / CANDIDATE_WAV),
            interviewer=IncrementalWav(folder / INTERVIEWER_WAV),
            meta={"format_version": FORMAT_VERSION, "voice_interviewer": __version__,
                  "started_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                  "sample_rate": SAMPLE_RATE, **meta},
        )
        writer.write_meta()
        return writer

    def write_meta(self, **updates: Any) -> None:
        tmp = self.folder / (META_JSON + ".tmp")
        # Serialised before the file is opened: a NaN raises here, and never becomes invalid JSON on disk.
        text = json.dumps({**self.meta, **updates}, indent=2, ensure_ascii=False, allow_nan=False)
        self.meta.update(updates)
        with open_private(tmp) as f:
            f.write(text)
        os.replace(tmp, self.folder / META_JSON)

    def close(self) -> None:
        for closer in (self.candidate.close, self.interviewer.close, self.events.close):
            try:
                closer()
            except OSError as exc:
                logger.warning("closing %s: %s", self.folder, exc)


@dataclass
class SessionData:
    folder: Path
    meta: dict[str, Any]
    events: list[Event]

    @property
    def candidate_wav(self) -> Path:
        return self.folder / CANDIDATE_WAV

    @property
    def interviewer_wav(self) -> Path:
        return self.folder / INTERVIEWER_WAV

    def t0_s(self) -> float:
        """End of the briefing: the start of the mitigation clock."""
        for e in self.events:
            if e.kind == "briefing_ended":
                return e.t_s
        try:
            t0_s = float(self.meta.get("t0_s", 0.0))
        except (TypeError, ValueError):
            t0_s = float("nan")
        if not math.isfinite(t0_s) or t0_s < 0:
            logger.warning("%s: meta.json t0_s %r is not a time, using 0", self.folder, self.meta.get("t0_s"))
            return 0.0
        return t0_s


def read_session(folder: Path) -> SessionData:
    if not is_session_folder(folder):
        raise UserError(f"{folder}: not a session folder (no {EVENTS_JSONL})")
    return SessionData(folder=folder, meta=read_meta(folder / META_JSON), events=read_events(folder / EVENTS_JSONL))


def read_meta(meta_path: Path) -> dict[str, Any]:
    """meta.json as a dict; missing, unreadable or not an object: a warning and {}.

    Replay needs only the events and the audio; meta.json adds defaults (t0_s,
    the input kind), so a damaged one must not stop a replay.
    """
    if not meta_path.is_file():
        return {}
    try:
        meta = json.loads(meta_path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        logger.warning("%s: unreadable (%s), using defaults", meta_path, type(exc).__name__)
        return {}
    if not isinstance(meta, dict):
        logger.warning("%s: not a JSON object, using defaults", meta_path)
        return {}
    return meta
