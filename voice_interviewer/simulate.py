"""Text-only runs of the director: ``simulate`` and the typed rehearsal.

    voice-interviewer simulate --scenario core-api-500s --candidate turns.txt --seed 3 [--json]

TURNS has one candidate turn per line, optionally prefixed with the time it
starts, ``mm:ss`` (any number of minutes) or ``h:mm:ss``, after the end of
the briefing. Seconds must be under 60 (and minutes too, after hours); a
time with no text after it is an error naming the line, not a turn that
says "00:05"::

    00:05 Which endpoints are failing, and in which regions?
    00:20 What changed in the last 24 hours?
    Roll back the auth service to v2.3.0 now.

A line without a time starts when the interviewer has finished answering the
previous turn, plus a short gap; a turn lasts as long as its words take to
say at 150 words a minute. Blank lines and lines starting with ``#`` are
skipped. Between and during turns the director gets a tick every second, so
timers, curveballs and monologue interruptions land where they would live.

``practice --text`` runs the same engine on turns typed at the keyboard, on
the wall clock (the mitigation clock starts when the briefing is on screen),
and writes a session folder: events (each turn as a ``transcript_final`` with
its utterance), meta and the report; the two WAVs stay empty.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, TextIO

from voice_interviewer import events as ev
from voice_interviewer.actions import Action
from voice_interviewer.director import WORDS_PER_S, Director, speaking_time_s
from voice_interviewer.errors import UserError
from voice_interviewer.events import Event, EventLog, SessionClock
from voice_interviewer.scenario import Scenario, load_scenario
from voice_interviewer.utterances import CANDIDATE, INTERVIEWER, Utterance, Word

logger = logging.getLogger(__name__)

TICK_S = 1.0  # how often the director's timers are offered a tick
TURN_GAP_S = 1.5  # pause before an untimed turn, after the interviewer stops
TAIL_S = 30.0  # silence simulated after the last turn, so delayed curveballs still land
TEXT_TICK_S = 0.5  # wall-clock tick of the typed rehearsal
QUIT_WORDS = ("quit", "exit", ":q")
# mm:ss or h:mm:ss, any number of minutes (or hours), optionally [bracketed];
# the ranges (seconds < 60, minutes < 60 after hours) are checked in parse_turn.
_TIME_PREFIX = re.compile(r"^\[?(?:(\d+):)?(\d+):(\d{2}(?:\.\d+)?)\]?(?:\s+(.*))?$")


@dataclass
class Turn:
    """One candidate turn of a TURNS file."""

    text: str
    at_s: float | None = None  # start, seconds after the end of the briefing; None: when the floor is free
    line_no: int = 0


# ------------------------------------------------------------ TURNS files


def parse_turns(text: str, source: str = "<turns>") -> list[Turn]:
    """Turns from TURNS text; times must not go backwards."""
    turns: list[Turn] = []
    last_s = -1.0
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        turn = parse_turn(line, line_no, source)
        if turn.at_s is not None:
            if turn.at_s < last_s:
                raise UserError(f"{source}:{line_no}: time {line.split()[0]} is earlier than the turn before it")
            last_s = turn.at_s
        turns.append(turn)
    if not turns:
        raise UserError(f"{source}: no candidate turns (one per line, optionally starting with mm:ss)")
    return turns


def parse_turn(line: str, line_no: int = 0, source: str = "<turns>") -> Turn:
    """One turn; a time prefix out of range, or with no text after it, is a UserError naming the line."""
    line = line.strip()
    match = _TIME_PREFIX.match(line)
    if not match:
        return Turn(line, None, line_no)
    hours, minutes, seconds, text = match.groups()
    where = f"{source}:{line_no}" if line_no else source
    stamp = line.split()[0]
    if float(seconds) >= 60:
        raise UserError(f"{where}: time {stamp}: seconds must be under 60")
    if hours is not None and int(minutes) >= 60:
        raise UserError(f"{where}: time {stamp}: minutes must be under 60 after the hours (h:mm:ss)")
    # A time alone is a turn whose text got lost, not a turn saying "00:05".
    if not text or not text.strip():
        raise UserError(f"{where}: time {stamp} with no turn text after it")
    at_s = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return Turn(text.strip(), at_s, line_no)


def read_turns(path: str | Path) -> list[Turn]:
    path = Path(path)
    if str(path) == "-":
        try:
            return parse_turns(sys.stdin.read(), "<stdin>")
        except UnicodeDecodeError:
            raise UserError("<stdin>: not UTF-8 text (one candidate turn per line)") from None
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a candidate turns file")
    if not path.is_file():
        raise UserError(f"{path}: candidate turns file not found")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 text file (one candidate turn per line)") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_turns(text, str(path))


# ------------------------------------------------------------ the run


def candidate_utterance(text: str, start_s: float, end_s: float | None = None) -> Utterance:
    """An utterance whose words are spread evenly at a conversational pace."""
    tokens = text.split()
    step_s = 1.0 / WORDS_PER_S
    if end_s is not None and tokens:
        step_s = max(end_s - start_s, 0.01) / len(tokens)
    words = [Word(start_s + i * step_s, start_s + (i + 1) * step_s, t) for i, t in enumerate(tokens)]
    end_s = words[-1].end_s if words else start_s
    return Utterance(start_s=start_s, end_s=end_s, text=text, words=words, speaker=CANDIDATE)


def label(utterance: Utterance, scenario: Scenario, context: list[str] | None = None) -> Utterance:
    """Label one turn as analysis.label_utterances would, with the last lines as context ("roll it back")."""
    from voice_interviewer.analysis import label_text

    result = label_text(utterance.text, scenario, context=context or [])
    utterance.labels = list(result.labels)
    utterance.mitigation_kind = result.mitigation_kind
    utterance.concrete_mitigation = result.concrete
    utterance.mitigation_id = result.mitigation_id  # a hint for the director, as label_utterances sets it
    return utterance


class _Dialogue:
    """Collects what was said and what happened, in order, as the run goes."""

    def __init__(self, director: Director, voice: Any = None,
                 on_entry: Callable[[dict[str, Any]], None] | None = None, paced: bool = True):
        self.director = director
        self.paced = paced  # spoken lines take time; typed ones appear at once
        self.voice = voice
        self.on_entry = on_entry
        self.entries: list[dict[str, Any]] = []
        self.interviewer_free_s = 0.0
        self._events_seen = 0

    def add(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        if self.on_entry is not None:
            self.on_entry(entry)

    def new_events(self) -> list[dict[str, Any]]:
        fresh = [{"type": "event", **e.to_json()} for e in self.director.log.events[self._events_seen:]
                 if e.kind != ev.TRANSCRIPT_FINAL]
        self._events_seen = len(self.director.log.events)
        return fresh

    def candidate(self, u: Utterance) -> dict[str, Any]:
        entry = {"type": "line", "speaker": CANDIDATE, "t_s": round(u.start_s, 3), "end_s": round(u.end_s, 3),
                 "text": u.text}
        self.labelled(entry, u)
        self.add(entry)
        return entry

    @staticmethod
    def labelled(entry: dict[str, Any], u: Utterance) -> None:
        entry.update(labels=list(u.labels), mitigation_kind=u.mitigation_kind,
                     concrete_mitigation=u.concrete_mitigation)

    def interviewer(self, actions: Iterable[Action]) -> None:
        """The lines of one director decision, with the events it logged, in clock order."""
        batch = self.new_events()
        for action in actions:
            text = self._spoken(action)
            start_s = action.t_s if action.interrupt or not self.paced else max(action.t_s, self.interviewer_free_s)
            self.interviewer_free_s = start_s + (speaking_time_s(text) if self.paced else 0.0)
            batch.append({"type": "line", "speaker": INTERVIEWER, "t_s": round(start_s, 3), "text": text,
                          **{k: v for k, v in action.to_json().items() if k not in ("t_s", "text")}})
        for entry in sorted(batch, key=lambda e: e["t_s"]):  # stable: an event before the line it caused
            self.add(entry)

    def context(self) -> list[str]:
        """The last two lines before the current turn, oldest first (analysis.CONTEXT_UTTERANCES)."""
        return [e["text"] for e in self.entries if e["type"] == "line"][-3:-1]

    def _spoken(self, action: Action) -> str:
        if self.voice is None:
            return action.text
        recent = [(e["speaker"], e["text"]) for e in self.entries if e["type"] == "line"][-6:]
        return " ".join(self.voice.say(action, recent)) or action.text


def run_turns(scenario: Scenario | str | Path, turns: list[Turn] | list[str], seed: int = 0,
              voice: Any = None, log: EventLog | None = None, tail_s: float = TAIL_S,
              on_entry: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Play scripted candidate turns against the director; the run as one JSON-able dict.

    ``voice`` is anything with ``say(action, recent_transcript)`` yielding
    sentences (voice.make_voice); without one the scripted line is said.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    turns = [parse_turn(t) if isinstance(t, str) else t for t in turns]
    director = Director(scenario, seed=seed, log=log if log is not None else EventLog())
    dialogue = _Dialogue(director, voice, on_entry)

    t0_s = speaking_time_s(scenario.briefing_text)
    dialogue.interviewer(director.start(0.0, briefing_ended_s=t0_s))
    clock_s = t0_s
    for turn in turns:
        if director.done:
            break
        start_s = t0_s + turn.at_s if turn.at_s is not None else max(clock_s, dialogue.interviewer_free_s) + TURN_GAP_S
        start_s = max(start_s, clock_s)
        clock_s = _tick_until(director, dialogue, clock_s, start_s, speaking_from_s=None)
        if director.done:  # the interviewer closed (time limit) before this turn's time came
            break
        utterance = candidate_utterance(turn.text, start_s)
        # The line goes in when the candidate starts talking, so a cut-in lands after it.
        entry = dialogue.candidate(utterance)
        clock_s = _tick_until(director, dialogue, clock_s, utterance.end_s, speaking_from_s=start_s)
        utterance = label(utterance, scenario, dialogue.context())
        dialogue.labelled(entry, utterance)
        director.log.append(utterance.end_s, ev.TRANSCRIPT_FINAL, text=utterance.text,
                            onset_s=round(utterance.onset_s, 3), utterance=utterance.to_json())
        clock_s = max(clock_s, utterance.end_s)
        dialogue.interviewer(director.on_turn(utterance))
    if not director.done:
        _tick_until(director, dialogue, clock_s, max(clock_s, dialogue.interviewer_free_s) + tail_s, None)
    return summarise(director, dialogue.entries)


def _tick_until(director: Director, dialogue: _Dialogue, from_s: float, to_s: float,
                speaking_from_s: float | None) -> float:
    t_s = from_s
    while t_s + TICK_S <= to_s and not director.done:
        t_s += TICK_S
        speaking_for_s = 0.0 if speaking_from_s is None else t_s - speaking_from_s
        dialogue.interviewer(director.on_tick(t_s, speaking_for_s))
    return max(from_s, min(t_s, to_s)) if director.done else to_s


def summarise(director: Director, entries: list[dict[str, Any]]) -> dict[str, Any]:
    scenario = director.scenario
    first = next((e for e in director.log.events if e.kind == ev.MITIGATION and e.data.get("first")), None)
    mitigation = None
    verdict = "none"
    if first is not None:
        mitigation = {k: first.data.get(k) for k in ("latency_s", "mitigation_id", "outcome", "quote")}
        mitigation["kind"] = first.data.get("mitigation_kind")
        verdict = "in_time" if first.data["latency_s"] <= scenario.mitigation_mark_s else "late"
    return {
        "scenario": {"id": scenario.id, "title": scenario.title, "style": scenario.style},
        "seed": director.seed,
        "t0_s": round(director.t0_s or 0.0, 3),
        "mark_s": scenario.mitigation_mark_s,
        "mitigation": mitigation,
        "two_minute_verdict": verdict,
        "phase": director.phase,
        "complications": list(director.fired),
        "facts_revealed": list(director.revealed),
        "root_cause_earned": director.root_cause_earned,
        "dialogue": [e for e in entries if e["type"] == "line"],
        "events": [e.to_json() for e in director.log.events],
    }


# ------------------------------------------------------------ printing


def format_entry(entry: dict[str, Any], t0_s: float, mark_s: float | None) -> str | None:
    """One printable line (or None) for a dialogue line or an event; ``mark_s`` None: no clock (investigation)."""
    stamp = f"{_mmss(entry['t_s'])} {_clock(entry['t_s'], t0_s):>7}"
    if entry["type"] == "line":
        who = "you" if entry["speaker"] == CANDIDATE else "interviewer"
        tag = ""
        if entry["speaker"] == INTERVIEWER:
            tag = f" [{entry['intent']}" + (" · cuts in" if entry.get("interrupt") else "") + "]"
        return f"{stamp}  {who:>11}: {entry['text']}{tag}"
    note = _event_note(entry, t0_s, mark_s)
    return f"{stamp}  {'':>11}  {note}" if note else None


def _event_note(e: dict[str, Any], t0_s: float, mark_s: float) -> str | None:
    kind = e["kind"]
    if kind == ev.BRIEFING_ENDED:
        if mark_s is None:
            return "-- briefing over: an investigation, no mitigation clock"
        return f"-- briefing over: the mitigation clock starts (mark {_mmss(mark_s)})"
    if kind == ev.FACT_REVEALED:
        return f"* fact revealed: {e['fact_id']}" + (" (root cause, earned)" if e.get("earned") else "")
    if kind == ev.COMPLICATION:
        return f"! curveball {e['complication_id']} (trigger {e['trigger']}, priority {e['priority']})"
    if kind == ev.INTERRUPTION:
        return f"! the interviewer cuts in after {e['speaking_for_s']:.0f} s of you talking"
    if kind == ev.PUSHBACK:
        return f"< pushback ({e['reason']})"
    if kind == ev.MITIGATION:
        name = e.get("mitigation_id") or "not in the scenario"
        note = f"# mitigation {name} ({e['mitigation_kind']}, {e['outcome']})"
        if e.get("first") and mark_s is not None:
            verdict = "in time" if e["latency_s"] <= mark_s else "late"
            note += f" -- first concrete mitigation {_mmss(e['latency_s'])} after the briefing: {verdict}"
        return note
    if kind == ev.PHASE_CHANGED:
        return f"> phase {e.get('previous') or 'start'} -> {e['phase']} ({e['reason']})"
    if kind == ev.VOICE_FALLBACK:
        return f"~ voice fell back to the scripted line ({e.get('reason')})"
    return None


def _mark_s(scenario: Scenario) -> float | None:
    return scenario.mitigation_mark_s if scenario.style == "incident" else None


def _mmss(t_s: float) -> str:
    t_s = max(0.0, t_s)
    return f"{int(t_s // 60):02d}:{int(t_s % 60):02d}"


def _clock(t_s: float, t0_s: float) -> str:
    if t_s < t0_s - 0.01:  # times in entries are rounded to the ms
        return ""
    return f"+{_mmss(t_s - t0_s)}"


class _Printer:
    """Prints each dialogue line and event as the run produces it."""

    def __init__(self, scenario: Scenario, out: TextIO):
        self.scenario = scenario
        self.out = out
        self.t0_s = speaking_time_s(scenario.briefing_text)

    def __call__(self, entry: dict[str, Any]) -> None:
        if entry.get("kind") == ev.BRIEFING_ENDED:
            self.t0_s = entry["t_s"]
        line = format_entry(entry, self.t0_s, _mark_s(self.scenario))
        if line:
            print(line, file=self.out)


def summary_line(run: dict[str, Any]) -> str:
    m = run["mitigation"]
    clock = "no concrete mitigation" if m is None else (
        f"first concrete mitigation {_mmss(m['latency_s'])} after the briefing "
        f"({run['two_minute_verdict'].replace('_', ' ')}, mark {_mmss(run['mark_s'])})")
    curveballs = ", ".join(run["complications"]) or "none"
    return f"-- {clock}; curveballs: {curveballs}; facts: {len(run['facts_revealed'])}; ended in {run['phase']}"


# ------------------------------------------------------------ commands


def cli_llm_settings(args: Any) -> Any:
    """The LLM settings (llm_config.LLMSettings) for --voice openai; None for the scripted voice."""
    if (getattr(args, "voice", "scripted") or "scripted") != "openai":
        return None
    from voice_interviewer.llm_config import load_settings

    return load_settings(args)


def make_cli_voice(args: Any, scenario: Scenario, log: EventLog, settings: Any = None) -> Any:
    """The interviewer's voice for --voice; ``settings`` reuses LLM settings already loaded."""
    kind = getattr(args, "voice", "scripted") or "scripted"
    try:
        from voice_interviewer.voice import make_voice
    except ImportError:
        if kind != "scripted":
            raise UserError("--voice openai needs voice_interviewer.voice, which is not installed") from None
        return None
    if settings is None:
        settings = cli_llm_settings(args)
    return make_voice(kind, scenario, settings, log=log)


def main(args: Any) -> int:
    """`voice-interviewer simulate`: a text-only run against scripted candidate turns."""
    scenario = load_scenario(args.scenario)
    turns = read_turns(args.candidate)
    log = EventLog()
    voice = make_cli_voice(args, scenario, log)

    if args.json:
        run = run_turns(scenario, turns, seed=args.seed, voice=voice, log=log)
        print(json.dumps(run, indent=2, ensure_ascii=False))
        return 0
    print(f"{scenario.title}  ({scenario.id}, seed {args.seed})")
    run = run_turns(scenario, turns, seed=args.seed, voice=voice, log=log, on_entry=_Printer(scenario, sys.stdout))
    print(summary_line(run))
    return 0


def practice_text(args: Any, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    """`practice --text`: a typed rehearsal on the wall clock, recorded as a session folder.

    It ends on 'quit', end of input, the interviewer's closing line, --max-minutes
    or Ctrl-C; each way the turns so far are scored, the summary ``replay``
    prints is shown and the attempt goes into the history. Exit code 130 after
    Ctrl-C, as for any interrupted command.
    """
    from voice_interviewer import replay
    from voice_interviewer.session import SessionWriter, new_session_dir

    stdin, out = stdin or sys.stdin, out or sys.stdout
    scenario = load_scenario(args.scenario)
    settings = cli_llm_settings(args)  # before the folder exists: a config problem leaves nothing behind
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    folder = new_session_dir(scenario.id, Path(args.sessions_dir).expanduser() if args.sessions_dir else None)
    meta = {**replay.scenario_meta(args.scenario, scenario), "seed": seed, "mode": args.mode,
            "input": "text", "audio": False, "voice": args.voice}
    if settings is not None:
        meta["llm"] = settings.to_meta()  # endpoint, model, where the key came from; never the key
    writer = SessionWriter.create(folder, meta)
    try:
        rehearsal = _TypedRehearsal(scenario, seed, writer.events,
                                    make_cli_voice(args, scenario, writer.events, settings), out, mode=args.mode)
        rehearsal.run(stdin, max_s=float(args.max_minutes) * 60.0)
        writer.write_meta(t0_s=round(rehearsal.director.t0_s or 0.0, 3),
                          duration_s=round(rehearsal.clock.now_s(), 3), end_reason=rehearsal.end_reason,
                          ended_in_phase=rehearsal.director.phase, complications=rehearsal.director.fired)
        report = _write_report(rehearsal, folder, seed)
    finally:
        writer.close()
    if report is not None:
        if rehearsal.utterances:  # an attempt with no turn typed has nothing to compare over time
            replay.record_history(report)
        from voice_interviewer.report import summary_text

        print(summary_text(report), file=out)
    written = [Path(p).name for p in (report or {}).get("meta", {}).get("written", [])]
    print(f"session saved in {folder}" + (f" ({', '.join(written)})" if written else ""), file=out)
    return 130 if rehearsal.end_reason == "interrupted" else 0


class _TypedRehearsal:
    """The director on the wall clock, fed typed turns, with a ticker for its timers."""

    def __init__(self, scenario: Scenario, seed: int, log: EventLog, voice: Any, out: TextIO,
                 mode: str = "coached"):
        self.scenario = scenario
        self.mode = mode  # exam: no in-time/late verdict on screen; the summary at the end is the feedback
        self.clock = SessionClock()
        self.director = Director(scenario, seed=seed, log=log)
        self.out = out
        self.lock = threading.Lock()
        self.utterances: list[Utterance] = []
        self.interviewer_lines: list[dict[str, Any]] = []
        self.dialogue = _Dialogue(self.director, voice, on_entry=self._print, paced=False)
        self._stop = threading.Event()
        # quit | input_ended | closed (the interviewer's closing line) | max_minutes | interrupted (Ctrl-C)
        self.end_reason = "running"

    def _print(self, entry: dict[str, Any]) -> None:
        if entry["type"] == "line" and entry["speaker"] == CANDIDATE:
            return  # the candidate's own line is already on screen
        if entry["type"] == "line":
            self.interviewer_lines.append(entry)
        if self.mode == "exam" and entry.get("kind") == ev.MITIGATION:
            entry = {**entry, "first": False}  # the note without its verdict, as the live exam screen shows it
        line = format_entry(entry, self.director.t0_s or 0.0, _mark_s(self.scenario))
        if line:
            print(line, file=self.out, flush=True)

    def run(self, stdin: TextIO, max_s: float) -> None:
        self.director.log.append(0.0, ev.SESSION_STARTED, source="text", scenario=self.scenario.id)
        ticker = threading.Thread(target=self._tick, args=(max_s,), daemon=True)
        try:
            print(f"{self.scenario.title} ({self.scenario.id}). Type your turns; 'quit' or Ctrl-D ends.",
                  file=self.out)
            with self.lock:
                # Typed, the briefing is read, not heard: the clock starts when it is on screen.
                now_s = self.clock.now_s()
                self.dialogue.interviewer(self.director.start(now_s, briefing_ended_s=now_s))
            ticker.start()
            self._read_turns(stdin)
        except KeyboardInterrupt:
            # Ctrl-C ends the rehearsal like 'quit': what was typed so far is still scored.
            self.end_reason = "interrupted"
        finally:
            self._stop.set()
            if ticker.is_alive():
                ticker.join(timeout=2.0)
        if self.end_reason == "running":
            self.end_reason = "closed" if self.director.done else "input_ended"
        self.director.log.append(self.clock.now_s(), ev.SESSION_ENDED, reason=self.end_reason)

    def _read_turns(self, stdin: TextIO) -> None:
        prompt_s = self.clock.now_s()
        while not self.director.done and not self._stop.is_set():
            line = stdin.readline()
            if not line:
                return
            if line.strip().lower() in QUIT_WORDS:
                self.end_reason = "quit"
                return
            text = line.strip()
            if not text:
                continue
            end_s = self.clock.now_s()
            # Typing is slower than speaking: the turn "starts" one speaking time
            # before Enter, never before the prompt appeared.
            start_s = max(prompt_s, end_s - speaking_time_s(text))
            with self.lock:
                context = [e["text"] for e in self.dialogue.entries if e["type"] == "line"][-2:]
                u = label(candidate_utterance(text, start_s, end_s), self.scenario, context)
                self.director.log.append(end_s, ev.TRANSCRIPT_FINAL, text=u.text, onset_s=round(u.onset_s, 3),
                                         utterance=u.to_json())
                self.utterances.append(u)
                self.dialogue.candidate(u)
                self.dialogue.interviewer(self.director.on_turn(u))
            prompt_s = self.clock.now_s()

    def _tick(self, max_s: float) -> None:
        while not self._stop.wait(TEXT_TICK_S):
            with self.lock:
                now_s = self.clock.now_s()
                if now_s >= max_s:
                    self.end_reason = "max_minutes"
                    self._stop.set()
                    return
                self.dialogue.interviewer(self.director.on_tick(now_s, 0.0))
                if self.director.done:
                    return


def _write_report(rehearsal: _TypedRehearsal, folder: Path, seed: int) -> dict[str, Any] | None:
    """report.json/md/html beside the events (replay.write, so meta.written lists them); the report.

    None when report.py is not installed.
    """
    from voice_interviewer import replay

    try:
        from voice_interviewer.report import build_report
    except ImportError as exc:
        logger.warning("no report written (%s)", exc)
        return None
    events: list[Event] = list(rehearsal.director.log.events)
    # Scored on the millisecond times the log keeps, as a replay of the folder
    # scores them, so replaying it gives the same clocks to the millisecond.
    for u in rehearsal.utterances:
        u.start_s, u.end_s = round(u.start_s, 3), round(u.end_s, 3)
        for w in u.words:
            w.start_s, w.end_s = round(w.start_s, 3), round(w.end_s, 3)
    interviewer = [{k: v for k, v in e.items() if k not in ("type", "speaker")} for e in rehearsal.interviewer_lines]
    report = build_report(
        source={"path": str(folder.resolve()), "kind": "session", "name": folder.name},
        scenario=rehearsal.scenario, utterances=rehearsal.utterances, events=events, interviewer=interviewer,
        t0_s=round(rehearsal.director.t0_s or 0.0, 3), duration_s=rehearsal.clock.now_s(), seed=seed,
        meta={"input": "text"},
    )
    replay.write(report, folder)  # json, md, and html when available
    return report
