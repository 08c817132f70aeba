"""One clock, one log: the event vocabulary every stage speaks.

An event is ``{"t_s": seconds on the session clock, "kind": KIND, ...data}``.
Live practice takes ``t_s`` from the wall clock since the session started;
replay derives it from audio samples consumed, so replays are deterministic.
Reports and scores are pure functions of this log.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from voice_interviewer.errors import UserError

logger = logging.getLogger(__name__)

# The fixed vocabulary. Add a kind here before emitting it anywhere.
SESSION_STARTED = "session_started"
SESSION_ENDED = "session_ended"
SPEECH_STARTED = "speech_started"  # candidate VAD onset
SPEECH_STOPPED = "speech_stopped"  # candidate VAD offset
TURN_ENDED = "turn_ended"  # end-of-turn decision (silence + words so far)
TRANSCRIPT_PARTIAL = "transcript_partial"
TRANSCRIPT_FINAL = "transcript_final"  # one candidate utterance with words
INTERVIEWER_STARTED = "interviewer_started"  # first sample of a line played
INTERVIEWER_STOPPED = "interviewer_stopped"  # line played to its end
INTERVIEWER_CUT_OFF = "interviewer_cut_off"  # barge-in; data has heard_text
BRIEFING_ENDED = "briefing_ended"  # t0 of the mitigation clock
FACT_REVEALED = "fact_revealed"
PUSHBACK = "pushback"
COMPLICATION = "complication"
INTERRUPTION = "interruption"  # interviewer took the floor mid-turn
MITIGATION = "mitigation"  # first concrete mitigation (and later ones)
PHASE_CHANGED = "phase_changed"
VOICE_FALLBACK = "voice_fallback"  # generated line rejected, scripted used
DEVICE_ERROR = "device_error"

KINDS = frozenset(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)


@dataclass
class Event:
    """One thing that happened, at ``t_s`` seconds on the session clock."""

    t_s: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"t_s": round(self.t_s, 3), "kind": self.kind, **self.data}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "Event":
        data = {k: v for k, v in obj.items() if k not in ("t_s", "kind")}
        t_s = float(obj["t_s"])
        if not math.isfinite(t_s):  # json.loads accepts NaN and Infinity; a clock time never is
            raise ValueError(f"t_s {obj['t_s']!r} is not a time")
        return cls(t_s=t_s, kind=str(obj["kind"]), data=data)


class SessionClock:
    """Seconds since the session started, from a monotonic wall clock."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now_s(self) -> float:
        return time.monotonic() - self._start


class EventLog:
    """Append-only list of events, optionally mirrored to a JSONL file.

    Each event is flushed and fsync'd as it is appended so a killed process
    loses at most the event being written.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.events: list[Event] = []
        self._file = None
        if path is not None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._file = os.fdopen(fd, "a", encoding="utf-8")

    def append(self, t_s: float, kind: str, **data: Any) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        event = Event(t_s, kind, data)
        self.events.append(event)
        if self._file is not None:
            self._file.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        logger.debug("event %.2fs %s %s", t_s, kind, data)
        return event

    def of_kind(self, *kinds: str) -> Iterator[Event]:
        return (e for e in self.events if e.kind in kinds)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_events(path: Path) -> list[Event]:
    """Read events.jsonl, tolerating a torn last line from a killed process.

    The file is read as bytes and each line decoded on its own with
    ``errors="replace"``: a multi-byte character torn by a kill, or a stray
    Latin-1 byte, costs at most that line (or a character of it), never the
    replay. Lines that are not events are skipped with one warning; a file
    with lines but no event at all (a binary file renamed) is a UserError.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    events: list[Event] = []
    skipped: list[int] = []
    undecodable = 0
    for number, line_bytes in enumerate(raw.split(b"\n"), 1):
        try:
            line = line_bytes.decode("utf-8").strip()
        except UnicodeDecodeError:
            line = line_bytes.decode("utf-8", errors="replace").strip()
            undecodable += 1
        if not line:
            continue
        try:
            events.append(Event.from_json(json.loads(line)))
        except (json.JSONDecodeError, KeyError, ValueError, TypeError, AttributeError):
            skipped.append(number)
    if skipped and not events:
        raise UserError(f"{path}: no readable events in {len(skipped)} line(s) (not an events.jsonl file?)")
    if skipped or undecodable:
        lines = ", ".join(map(str, skipped[:5])) + (" ..." if len(skipped) > 5 else "")
        logger.warning("%s: skipped %d unreadable event line(s)%s%s", path, len(skipped),
                       f" (line {lines})" if skipped else "",
                       f"; {undecodable} line(s) had bytes that are not UTF-8" if undecodable else "")
    return events


def write_events(path: Path, events: Iterable[Event]) -> None:
    log = EventLog(path)
    for e in events:
        log.append(e.t_s, e.kind, **e.data)
    log.close()
