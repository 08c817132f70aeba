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
import os
import struct
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voice_interviewer import __version__
from voice_interviewer.errors import UserError
from voice_interviewer.events import Event, EventLog, read_events
from voice_interviewer.paths import data_home, private_dir

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
CANDIDATE_WAV = "candidate.wav"
INTERVIEWER_WAV = "interviewer.wav"
EVENTS_JSONL = "events.jsonl"
META_JSON = "meta.json"
HEADER_EVERY_S = 1.0
FORMAT_VERSION = 1


def is_session_folder(path: Path) -> bool:
    return path.is_dir() and (path / EVENTS_JSONL).is_file()


def default_sessions_dir() -> Path:
    return data_home() / "sessions"


def new_session_dir(scenario_id: str, sessions_dir: Path | None = None) -> Path:
    root = private_dir(sessions_dir or default_sessions_dir())
    stamp = dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    path = root / f"{stamp}_{scenario_id}"
    n = 1
    while path.exists():
        n += 1
        path = root / f"{stamp}_{scenario_id}-{n}"
    return private_dir(path)


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
        self.meta.update(updates)
        tmp = self.folder / (META_JSON + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.meta, f, indent=2, ensure_ascii=False)
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
        return float(self.meta.get("t0_s", 0.0))


def read_session(folder: Path) -> SessionData:
    if not is_session_folder(folder):
        raise UserError(f"{folder}: not a session folder (no {EVENTS_JSONL})")
    meta: dict[str, Any] = {}
    meta_path = folder / META_JSON
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            logger.warning("%s: unreadable, using defaults", meta_path)
    return SessionData(folder=folder, meta=meta, events=read_events(folder / EVENTS_JSONL))
