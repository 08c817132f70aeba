"""The practice screen: the mitigation clock, the transcript, the interviewer, the events.

    screen = Screen(mode="coached", mark_s=120, title="Core API returning 500s")
    screen.start()
    screen.event(event)                                  # every event of the log
    screen.candidate_text(t_s, text, final=False)        # partial, then final transcripts
    screen.interviewer_line(t_s, text)
    screen.stop()

On a terminal it is a ``rich.live`` view redrawn a few times a second; when
stdout is not a terminal (piped, CI, a test) it prints one plain line per
thing that happened instead. Coached mode shows hints as the session goes
(:func:`coaching_hints`); exam mode shows only the clock and the transcript
and keeps all feedback for the report.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from dataclasses import dataclass, field

from voice_interviewer import events as ev
from voice_interviewer import labels as lab

logger = logging.getLogger(__name__)

# Hints fire from these numbers; they are coaching nudges, not scores.
MARK_WARNING_S = 30.0  # "2:00 is close" this long before the mark
QUESTION_STREAK = 4  # questions in a row before "propose something"
LONG_TURN_S = 30.0  # a turn this long gets "land it"
TRANSCRIPT_LINES = 12
EVENT_LINES = 8
REFRESH_PER_S = 4

_QUESTION_LABELS = {lab.BLAST_RADIUS, lab.CHANGE_CHECK, lab.SIGNAL_CHECK, lab.DIAGNOSTIC_QUESTION}
_SHOWN_EVENTS = {
    ev.BRIEFING_ENDED: "briefing over: the mitigation clock is running",
    ev.FACT_REVEALED: "fact revealed",
    ev.COMPLICATION: "complication",
    ev.INTERRUPTION: "the interviewer cut in",
    ev.INTERVIEWER_CUT_OFF: "you cut the interviewer off",
    ev.MITIGATION: "mitigation",
    ev.PHASE_CHANGED: "phase",
    ev.PUSHBACK: "pushback",
    ev.DEVICE_ERROR: "audio device error",
    ev.VOICE_FALLBACK: "scripted line used",
}


@dataclass
class ScreenState:
    """What the screen shows, updated from the loop's calls."""

    mark_s: float = 120.0
    now_s: float = 0.0
    t0_s: float | None = None
    mitigation_s: float | None = None  # session time of the first mitigation
    phase: str = "briefing"
    question_streak: int = 0
    turn_started_s: float | None = None
    partial: str = ""
    transcript: deque = field(default_factory=lambda: deque(maxlen=TRANSCRIPT_LINES))
    events: deque = field(default_factory=lambda: deque(maxlen=EVENT_LINES))

    def mitigation_clock_s(self) -> float | None:
        """Seconds on the mitigation clock: since the briefing, stopped at the first mitigation."""
        if self.t0_s is None:
            return None
        end_s = self.mitigation_s if self.mitigation_s is not None else self.now_s
        return max(0.0, end_s - self.t0_s)


def coaching_hints(state: ScreenState) -> list[str]:
    """Live nudges for coached mode, from the clock and the last turns."""
    hints = []
    clock_s = state.mitigation_clock_s()
    if clock_s is not None and state.mitigation_s is None:
        if clock_s >= state.mark_s:
            hints.append(f"{_mmss(state.mark_s)} has passed — say the one thing you'd do now")
        elif clock_s >= state.mark_s - MARK_WARNING_S:
            hints.append(f"{_mmss(state.mark_s)} is close — propose a mitigation")
    if state.question_streak >= QUESTION_STREAK and state.mitigation_s is None:
        hints.append(f"you've asked {state.question_streak} questions in a row — act on what you know")
    if state.turn_started_s is not None and state.now_s - state.turn_started_s >= LONG_TURN_S:
        hints.append("long answer — land it: what do you do, to what?")
    return hints


def _mmss(t_s: float) -> str:
    t = int(max(0.0, t_s))
    return f"{t // 60}:{t % 60:02d}"


class Screen:
    """rich.live on a terminal, plain lines otherwise."""

    def __init__(self, mode: str = "coached", mark_s: float = 120.0, title: str = "", stream=None,
                 force_plain: bool = False) -> None:
        self.mode = mode
        self.title = title
        self.state = ScreenState(mark_s=mark_s)
        self.stream = stream or sys.stdout
        self.plain = force_plain or not getattr(self.stream, "isatty", lambda: False)()
        self._lock = threading.Lock()
        self._live = None
        self._shown_hints: set[str] = set()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self.plain:
            self._print(f"practice: {self.title} ({self.mode} mode). Speak when the briefing ends; Ctrl-C stops.")
            return
        from rich.console import Console
        from rich.live import Live

        self._live = Live(get_renderable=self._render, console=Console(file=self.stream),
                          refresh_per_second=REFRESH_PER_S, transient=False)
        self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    # --------------------------------------------------------------- inputs

    def event(self, event: ev.Event) -> None:
        with self._lock:
            s = self.state
            s.now_s = max(s.now_s, event.t_s)
            if event.kind == ev.BRIEFING_ENDED:
                s.t0_s = event.t_s
            elif event.kind == ev.MITIGATION and s.mitigation_s is None:
                s.mitigation_s = event.t_s
            elif event.kind == ev.PHASE_CHANGED:
                s.phase = str(event.data.get("phase") or event.data.get("to") or s.phase)
            elif event.kind == ev.SPEECH_STARTED:
                s.turn_started_s = event.t_s
            elif event.kind == ev.TURN_ENDED:
                s.turn_started_s = None
            elif event.kind == ev.TRANSCRIPT_FINAL:
                self._note_turn(event.data.get("labels") or [], bool(event.data.get("concrete_mitigation")),
                                event.data.get("start", event.t_s))
            label = _SHOWN_EVENTS.get(event.kind)
            if label is None:
                line = None
            else:
                detail = event.data.get("complication_id") or event.data.get("fact_id") or event.data.get("phase")
                line = f"{_mmss(event.t_s)} {label}" + (f": {detail}" if detail else "")
                s.events.append(line)
        if line is not None and self.plain:
            self._print(f"  [{line}]")
        self._maybe_hint()

    def candidate_text(self, t_s: float, text: str, final: bool, utterance=None) -> None:
        with self._lock:
            self.state.now_s = max(self.state.now_s, t_s)
            if final:
                self.state.partial = ""
                self.state.transcript.append(("you", _mmss(t_s), text))
            else:
                self.state.partial = text
        if final and self.plain:
            self._print(f"{_mmss(t_s)} you: {text}")

    def interviewer_line(self, t_s: float, text: str) -> None:
        with self._lock:
            self.state.now_s = max(self.state.now_s, t_s)
            self.state.transcript.append(("interviewer", _mmss(t_s), text))
        if self.plain:
            self._print(f"{_mmss(t_s)} interviewer: {text}")

    def tick(self, now_s: float) -> None:
        with self._lock:
            self.state.now_s = max(self.state.now_s, now_s)
        self._maybe_hint()

    # -------------------------------------------------------------- helpers

    def _note_turn(self, labels: list[str], concrete: bool, start_s: float) -> None:
        s = self.state
        if concrete:
            s.question_streak = 0
            if s.mitigation_s is None:
                s.mitigation_s = float(start_s)
        elif _QUESTION_LABELS & set(labels):
            s.question_streak += 1

    def _maybe_hint(self) -> None:
        if self.mode != "coached" or not self.plain:
            return
        with self._lock:
            hints = coaching_hints(self.state)
        for hint in hints:
            if hint not in self._shown_hints:
                self._shown_hints.add(hint)
                self._print(f"  hint: {hint}")

    def _print(self, line: str) -> None:
        try:
            print(line, file=self.stream, flush=True)
        except (BrokenPipeError, ValueError):
            pass

    def _render(self):
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        with self._lock:
            s = self.state
            clock_s = s.mitigation_clock_s()
            hints = coaching_hints(s) if self.mode == "coached" else []
            transcript = list(s.transcript)
            partial = s.partial
            events = list(s.events)

        if clock_s is None:
            clock = Text("briefing…", style="bold")
        else:
            style = "green" if s.mitigation_s is not None else "yellow" if clock_s < s.mark_s else "red"
            status = "mitigated" if s.mitigation_s is not None else f"of {_mmss(s.mark_s)}"
            if self.mode == "exam" and s.mitigation_s is not None:
                status, style = "stopped", "bold"
            clock = Text(f"mitigation clock {_mmss(clock_s)} {status}", style=f"bold {style}")
        header = Table.grid(expand=True)
        header.add_row(clock, Text(f"{_mmss(s.now_s)}  phase: {s.phase}", justify="right"))

        body = Text()
        for speaker, at, text in transcript:
            body.append(f"{at} {speaker}: ", style="cyan" if speaker == "interviewer" else "bold")
            body.append(text + "\n")
        if partial:
            body.append(f"      you: {partial}…\n", style="dim")
        parts = [header, Panel(body, title=self.title or "transcript")]
        if events:
            parts.append(Panel(Text("\n".join(events)), title="events"))
        if hints:
            parts.append(Panel(Text("\n".join(hints), style="bold magenta"), title="hints"))
        return Group(*parts)
