"""``voice-interviewer practice``: the spoken rehearsal loop.

    main(args)
      open the devices          mic and speakers (fails before anything is written)
      load the parts            transcriber, Piper voice (scripted lines precomputed), VAD
      open the session folder   candidate.wav + interviewer.wav on one clock, events.jsonl, meta.json
      run the conversation      PracticeLoop.run(): brief, then listen / decide / speak until the end
      finish                    report.json/md like ``replay``, summary on the terminal

The session clock is the number of mic samples read, so the loop runs the
same on the laptop's mic, on a file, or on :class:`~devices.VirtualDevicePair`
driven faster than real time. One thread (the loop) reads mic frames, writes
candidate.wav, runs the VAD and turn detector, watches for barge-in, ticks the
director's timers and writes interviewer.wav from the played frames. A worker
thread does the slow work of a finished turn: transcription (when the partial
transcript is stale), labelling, the director's decision, the voice's
sentences and their synthesis, and hands audio to the speakers.
``LoopSettings.inline_processing`` runs that work on the loop thread instead,
which makes a virtual-clock test deterministic (processing costs no virtual
time) at the cost of realism; the latency benchmark runs it threaded.
"""

from __future__ import annotations

import errno
import logging
import queue
import random
import re
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from voice_interviewer import events as ev
from voice_interviewer.actions import Action
from voice_interviewer.errors import UserError
from voice_interviewer.utterances import CANDIDATE, INTERVIEWER, Utterance
from voice_interviewer.live.turns import FRAME_S, FRAME_SAMPLES, TurnDetector, TurnEnd, TurnSettings, is_open_question

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
STOP_PREFIX = "Let me stop you there — "
VAD_MODEL = "silero_vad_v6 (faster-whisper)"
PLAYED_GAP_S = 0.05  # a jump in played-frame stamps bigger than this is a real gap in playback


@dataclass
class LoopSettings:
    """How the conversation loop behaves; the turn-taking numbers are in TurnSettings."""

    mode: str = "coached"
    """coached: hints on screen while practising; exam: feedback only at the end."""
    max_s: float = 30 * 60.0
    """End the session after this long on the session clock."""
    tick_every_s: float = 0.25
    """How often the director's timers run (director.on_tick)."""
    cut_in_pause_ms: float = 250.0
    """A due interrupting complication takes the floor at the first pause this long."""
    cut_in_hard_limit_s: float = 6.0
    """...or this long after it fell due, mid-sentence, prefixed "Let me stop you there"."""
    echo_guard: bool = True
    """Drop candidate transcripts that repeat what the interviewer was saying then."""
    echo_window_s: float = 0.6
    """How far after a line's end the mic can still carry its echo (device + room delay)."""
    inline_processing: bool = False
    """Run transcription, decision and synthesis on the loop thread (deterministic tests)."""
    end_after_closing_s: float = 0.5
    """Silence after the closing line before the session ends."""
    worker_wait_s: float = 30.0
    """At the end, how long to wait for a turn still being processed."""


@dataclass
class TurnStat:
    """Where one reply's latency went; session-clock seconds unless named _ms (wall clock)."""

    speech_end_s: float
    decided_s: float
    ending: str
    transcribe_ms: float = 0.0  # after the decision (0 when the partial was reused)
    partial_ms: float = 0.0  # partial transcripts made during the pauses (before the decision)
    label_ms: float = 0.0
    decide_ms: float = 0.0  # director.on_turn
    voice_ms: float = 0.0  # voice.say, first sentence
    synth_ms: float = 0.0  # Piper or cache lookup, first sentence
    processing_ms: float = 0.0  # decision -> first play() call, wall clock
    play_called_s: float | None = None
    first_audio_s: float | None = None  # first played frame of the reply
    decided_wall_s: float = 0.0  # time.monotonic() when the loop thread ended the turn
    play_called_wall_s: float | None = None  # ... when the reply's first audio went to the speakers
    first_audio_wall_s: float | None = None  # ... when the loop saw the reply's first frame played
    reply_intent: str | None = None
    text: str = ""


@dataclass
class _Line:
    """One interviewer line being played."""

    action: Action
    barge_in_allowed: bool
    sentences: list[tuple[str, float]] = field(default_factory=list)  # (text, seconds of audio)
    line_ids: set[int] = field(default_factory=set)
    queued_all: bool = False
    cancelled: bool = False
    started_s: float | None = None
    ended_s: float | None = None
    heard_text: str | None = None
    stat: TurnStat | None = None

    @property
    def spoken_text(self) -> str:
        return " ".join(t for t, _ in self.sentences)

    @property
    def duration_s(self) -> float:
        return sum(d for _, d in self.sentences)


@dataclass
class SessionResult:
    folder: Path
    end_reason: str
    duration_s: float
    utterances: list[Utterance]
    events: list[ev.Event]
    interviewer: list[Action]
    turn_stats: list[TurnStat]
    report: dict[str, Any] | None = None
    message: str | None = None  # a one-line problem to show the user (device gone, disk full)


class SessionClock:
    """Seconds of mic audio read: the one clock of a live session."""

    def __init__(self) -> None:
        self.samples = 0

    def now_s(self) -> float:
        return self.samples / SAMPLE_RATE


def heard_part(sentences: list[tuple[str, float]], heard_s: float) -> str:
    """The words of a line heard in its first ``heard_s`` seconds.

    Each sentence's audio length is known; inside the sentence that was cut,
    time is shared among its words in proportion to their letters (speech
    rate is roughly constant in letters per second), and a word counts as
    heard once its share has fully played.
    """
    out: list[str] = []
    remaining_s = heard_s
    for text, duration_s in sentences:
        if remaining_s >= duration_s - 1e-6:
            out.append(text)
            remaining_s -= duration_s
            continue
        words = text.split()
        total = sum(len(w) for w in words) or 1
        fraction = max(0.0, remaining_s) / duration_s if duration_s > 0 else 0.0
        kept, cumulative = [], 0
        for w in words:
            cumulative += len(w)
            if cumulative / total > fraction + 1e-9:
                break
            kept.append(w)
        if kept:
            out.append(" ".join(kept))
        break
    return " ".join(out)


def with_stop_prefix(text: str) -> str:
    """The line as said when the interviewer cuts in mid-sentence."""
    if re.match(r"\s*let me stop you there\b", text, re.IGNORECASE):
        return text
    return STOP_PREFIX + text


class PracticeLoop:
    """The conversation between the candidate at ``mic`` and the interviewer at ``speakers``.

    Parts are passed in so tests can run the same loop on virtual devices:
    ``transcribe(audio, offset_s) -> [Utterance]``, ``label(utterances) ->
    [Utterance]``, ``director`` (start/on_turn/on_tick/phase), ``say(action,
    transcript) -> sentences``, ``synthesize(text) -> float32`` at
    ``synth_rate``. ``writer`` is the session.SessionWriter, whose event log
    the director also writes to. ``screen`` gets every event and transcript.
    """

    def __init__(self, *, mic, speakers, clock: SessionClock, writer, director, transcribe: Callable,
                 label: Callable, say: Callable, synthesize: Callable, synth_rate: int,
                 turn_settings: TurnSettings | None = None, settings: LoopSettings | None = None,
                 screen=None, echo_match: Callable[[str, str], bool] | None = None, vad=None) -> None:
        self.mic, self.speakers, self.clock, self.writer = mic, speakers, clock, writer
        self.director = director
        self._transcribe, self._label, self._say, self._synthesize = transcribe, label, say, synthesize
        self.synth_rate = synth_rate
        self.settings = settings or LoopSettings()
        self.turn_settings = turn_settings or TurnSettings()
        self.detector = TurnDetector(self.turn_settings, transcribe=self._transcribe_partial, vad=vad)
        self.screen = screen
        self.echo_match = echo_match
        self.log_lock = threading.RLock()  # the director and both threads write to one log

        self.utterances: list[Utterance] = []
        self.interviewer: list[Action] = []
        self.turn_stats: list[TurnStat] = []
        self.lines: list[_Line] = []
        self._play_lock = threading.Lock()  # play() vs stop_playback(): no line resurrected after a cut
        self._played = speakers.subscribe()
        self._jobs: queue.Queue = queue.Queue()
        self._jobs_open = 0  # submitted and not finished; the floor is taken while > 0
        self._jobs_lock = threading.Lock()
        self._first_frame_s: dict[int, float] = {}  # line id -> first played frame
        self._last_frame_s: dict[int, float] = {}  # line id -> end of its last played frame
        self._playing_line_id: int | None = None  # line id of the latest played frame
        self._worker_error: BaseException | None = None
        self._worker: threading.Thread | None = None
        self._pending_cut_in: tuple[Action, float] | None = None
        self._cut_in_how: dict[int, tuple[str, float]] = {}  # id(action) -> (how, due_s)
        self._pending_say: list[Action] = []
        self._next_tick_s = 0.0
        self._end_at_s: float | None = None
        self._ending = False
        self.end_reason = "running"
        self.message: str | None = None

    # ------------------------------------------------------------ the loop

    @property
    def now_s(self) -> float:
        return self.clock.now_s()

    def run(self) -> str:
        """Brief, converse, and return why the session ended."""
        self._start_worker()
        try:
            self._log(0.0, ev.SESSION_STARTED, mode=self.settings.mode)
            self._brief()
            while self.end_reason == "running":
                self._step()
        except KeyboardInterrupt:
            self.end_reason = "interrupted"
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            self.end_reason = "disk_full"
            self.message = f"disk full while recording; the session up to {self.now_s:.1f} s is kept"
        except UserError as exc:  # devices.AudioDeviceError: unplugged, stream died
            self.end_reason = "device_error"
            self.message = f"{exc}; the session up to {self.now_s:.1f} s is kept"
            self._safe_log(ev.DEVICE_ERROR, error=str(exc))
        finally:
            self._wind_down()
        return self.end_reason

    def _step(self) -> None:
        frame = self.mic.read(timeout_s=0.2)
        self._drain_played()
        self._raise_worker_error()
        if frame is None:
            if getattr(self.mic, "exhausted", False):
                self.end_reason = "input_ended"
            return
        t_s = self.now_s
        self.clock.samples += len(frame)
        self.writer.candidate.write_float32(frame)
        result = self.detector.feed(frame, t_s)
        if result.speech_started_s is not None:
            self._on_speech_started(result.speech_started_s)
        if result.partial is not None and self.screen is not None:
            self.screen.candidate_text(t_s, _text(result.partial), final=False)
        self._check_barge_in()
        if result.turn is not None:
            self._on_turn_end(result.turn)
        self._check_cut_in()
        self._tick()
        self._check_lines()
        self._check_end()
        if self.screen is not None:
            self.screen.tick(t_s)

    # ------------------------------------------------------------ the steps

    def prepare(self) -> None:
        """Synthesise the briefing before the devices start, so it plays the moment they do.

        Its length also tells the director when the briefing ends (t0). Done
        before the mic opens because a mic left unread for the seconds Piper
        takes would overflow its queue and drop audio.
        """
        text = self.director.scenario.briefing_text
        sentences = [x for x in self._say(Action("briefing", text), ()) if x.strip()]
        self._briefing_s = sum(len(self._synthesize(x)) / self.synth_rate for x in sentences)

    def _brief(self) -> None:
        if getattr(self, "_briefing_s", None) is None:
            self.prepare()
        duration_s = self._briefing_s
        latency_s = float(getattr(self.speakers, "latency_s", 0.0) or 0.0)
        start_s = self.now_s
        with self.log_lock:
            actions = self.director.start(start_s, briefing_ended_s=start_s + duration_s + latency_s)
        self._submit_say(actions)

    def _on_speech_started(self, onset_s: float) -> None:
        self._log(onset_s, ev.SPEECH_STARTED)

    def _check_barge_in(self) -> None:
        line = self._current_line()
        if line is None or not line.barge_in_allowed or line.started_s is None:
            return
        if not self.detector.in_turn or self.detector.speech_run_ms < self.turn_settings.barge_in_min_speech_ms:
            return
        with self._play_lock:
            line.cancelled = True
            heard_samples = self.speakers.stop_playback()
        heard_s = heard_samples / SAMPLE_RATE
        line.heard_text = heard_part(line.sentences, heard_s)
        line.ended_s = self.now_s
        onset_s = self.now_s - self.detector.speech_run_ms / 1000
        self._log(self.now_s, ev.INTERVIEWER_CUT_OFF, intent=line.action.intent, text=line.spoken_text,
                  heard_text=line.heard_text, heard_s=round(heard_s, 3), speech_onset_s=round(onset_s, 3),
                  stop_after_onset_ms=round((self.now_s - onset_s) * 1000, 1))

    def _on_turn_end(self, turn: TurnEnd) -> None:
        self._log(turn.speech_end_s, ev.SPEECH_STOPPED)
        self._log(turn.decided_s, ev.TURN_ENDED, ending=turn.ending, reason=turn.reason,
                  endpoint_wait_ms=round(turn.endpoint_wait_s * 1000, 1))
        reply = self._pending_cut_in is None
        turn.decided_wall_s = time.monotonic()
        self._submit(("turn", turn, reply))
        if not reply:
            self._take_floor("turn_end")

    def _check_cut_in(self) -> None:
        if self._pending_cut_in is None:
            return
        action, due_s = self._pending_cut_in
        if not self.detector.in_turn:
            if self._floor_free():
                self._take_floor("floor_free")
            return
        if self.detector.silence_run_ms >= self.settings.cut_in_pause_ms:
            self._flush_turn(reply=False)
            self._take_floor("pause")
        elif self.now_s - due_s >= self.settings.cut_in_hard_limit_s:
            self._flush_turn(reply=False)
            self._take_floor("mid_sentence")

    def _take_floor(self, how: str) -> None:
        action, due_s = self._pending_cut_in
        self._pending_cut_in = None
        if how == "mid_sentence":
            action.text = with_stop_prefix(action.text)
        if how in ("pause", "mid_sentence"):  # the candidate still had the floor: an interruption
            # The director logs an interruption when it fires a complication
            # mid-turn; this one records how and when the floor was taken.
            # One event per cut-in, so reports count each once.
            logged = any(e.kind == ev.INTERRUPTION and e.data.get("complication_id") == action.complication_id
                         for e in self.writer.events.events)
            if not logged:
                self._log(self.now_s, ev.INTERRUPTION, complication_id=action.complication_id)
        self._cut_in_how[id(action)] = (how, due_s)
        self._submit_say([action], barge_in_allowed=False)

    def _flush_turn(self, reply: bool) -> None:
        turn = self.detector.flush(self.now_s)
        if turn is not None:
            self._log(turn.speech_end_s, ev.SPEECH_STOPPED)
            self._log(turn.decided_s, ev.TURN_ENDED, ending=turn.ending, reason=turn.reason,
                      endpoint_wait_ms=round(turn.endpoint_wait_s * 1000, 1))
            self._submit(("turn", turn, reply))

    def _tick(self) -> None:
        if self.now_s < self._next_tick_s or self._ending:
            return
        self._next_tick_s = self.now_s + self.settings.tick_every_s
        with self.log_lock:
            actions = self.director.on_tick(self.now_s, self.detector.speaking_for_s(self.now_s)) or []
        for action in actions:
            if action.interrupt and self._pending_cut_in is None and (self.detector.in_turn or self._busy):
                self._pending_cut_in = (action, self.now_s)
            else:
                self._pending_say.append(action)
        if self._pending_say and self._floor_free():
            actions, self._pending_say = self._pending_say, []
            self._submit_say(actions)

    def _check_lines(self) -> None:
        """Log the start and end of each line from what the speakers actually played."""
        for line in self.lines:
            if line.ended_s is not None:
                continue
            if line.started_s is None and line.queued_all and not line.line_ids:
                line.ended_s = self.now_s  # the voice had nothing to say
                continue
            if line.started_s is None:
                first = min((self._first_frame_s[i] for i in line.line_ids if i in self._first_frame_s), default=None)
                if first is None:
                    continue
                line.started_s = first
                self._on_line_started(line)
            # Ended when everything is queued and the speakers have moved on to
            # another line or to idle silence.
            if line.queued_all and not line.cancelled and self._playing_line_id not in line.line_ids:
                line.ended_s = max(self._last_frame_s.get(i, 0.0) for i in line.line_ids) if line.line_ids \
                    else self.now_s
                self._log(line.ended_s, ev.INTERVIEWER_STOPPED, intent=line.action.intent)
                self.detector.set_open_question(is_open_question(line.spoken_text))

    def _on_line_started(self, line: _Line) -> None:
        a = line.action
        data = dict(intent=a.intent, text=line.spoken_text, fact_ids=list(a.fact_ids),
                    complication_id=a.complication_id, mitigation_id=a.mitigation_id, interrupt=a.interrupt)
        if id(a) in self._cut_in_how:
            how, due_s = self._cut_in_how.pop(id(a))
            data.update(cut_in=how, waited_s=round(line.started_s - due_s, 3))
        if line.stat is not None:
            line.stat.first_audio_s = line.started_s
            line.stat.first_audio_wall_s = time.monotonic()
            data["after_speech_end_ms"] = round((line.started_s - line.stat.speech_end_s) * 1000, 1)
        self._log(line.started_s, ev.INTERVIEWER_STARTED, **data)
        if self.screen is not None:
            self.screen.interviewer_line(line.started_s, line.spoken_text)

    def _check_end(self) -> None:
        if self.now_s >= self.settings.max_s:
            self.end_reason = "max_minutes"
        phase = getattr(self.director, "phase", None)
        if phase == "end" and self._end_at_s is None and self._floor_free():
            self._end_at_s = self.now_s + self.settings.end_after_closing_s
        if self._end_at_s is not None and self.now_s >= self._end_at_s:
            self.end_reason = "closed"

    # ------------------------------------------------------------- helpers

    def _current_line(self) -> _Line | None:
        for line in self.lines:
            if line.ended_s is None and not line.cancelled:
                return line
        return None

    @property
    def _busy(self) -> bool:
        return self._jobs_open > 0

    def _floor_free(self) -> bool:
        return not self.detector.in_turn and not self._busy and self._current_line() is None

    def _drain_played(self) -> None:
        while True:
            try:
                frame = self._played.get_nowait()
            except queue.Empty:
                return
            self._playing_line_id = frame.line_id
            if frame.line_id is not None:
                self._first_frame_s.setdefault(frame.line_id, frame.t_s)
                self._last_frame_s[frame.line_id] = frame.t_s + len(frame.samples_float32) / SAMPLE_RATE
            # Played frames are contiguous; their t_s stamps are only as fine as
            # the clock that stamped them (a mic frame, 32 ms). Pad only for a
            # real gap (frames dropped, output stalled), never for that jitter.
            behind_s = frame.t_s - self.writer.interviewer.samples_written / SAMPLE_RATE
            if behind_s > PLAYED_GAP_S:
                self.writer.interviewer.pad_to(frame.t_s)
            self.writer.interviewer.write_float32(frame.samples_float32)

    def _log(self, t_s: float, kind: str, **data: Any) -> ev.Event:
        with self.log_lock:
            event = self.writer.events.append(t_s, kind, **data)
        if self.screen is not None:
            self.screen.event(event)
        return event

    def _safe_log(self, kind: str, **data: Any) -> None:
        try:
            self._log(self.now_s, kind, **data)
        except OSError as exc:
            logger.warning("could not log %s: %s", kind, exc)

    def _transcribe_partial(self, audio_float32: np.ndarray, offset_s: float) -> list[Utterance]:
        utterances = self._transcribe(audio_float32, offset_s)
        return utterances

    # -------------------------------------------------------------- worker

    def _start_worker(self) -> None:
        if self.settings.inline_processing:
            return
        self._worker = threading.Thread(target=self._work, name="practice-worker", daemon=True)
        self._worker.start()

    def _submit(self, job: tuple) -> None:
        with self._jobs_lock:
            self._jobs_open += 1  # counted here, not in the worker: the floor is taken from this moment
        if not self.settings.inline_processing:
            self._jobs.put(job)
            return
        try:
            self._run_job(job)
        finally:
            self._job_done()

    def _job_done(self) -> None:
        with self._jobs_lock:
            self._jobs_open -= 1

    def _submit_say(self, actions: list[Action], barge_in_allowed: bool = True) -> None:
        if actions:
            self._submit(("say", actions, barge_in_allowed, None))

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._run_job(job)
            except BaseException as exc:  # handed to the loop thread, which reports it
                self._worker_error = exc
            finally:
                self._job_done()

    def _raise_worker_error(self) -> None:
        if self._worker_error is not None:
            exc, self._worker_error = self._worker_error, None
            raise exc

    def _run_job(self, job: tuple) -> None:
        if job[0] == "turn":
            self._process_turn(job[1], reply=job[2])
        else:
            self._speak(job[1], barge_in_allowed=job[2], stat=job[3])

    def _process_turn(self, turn: TurnEnd, reply: bool) -> None:
        stat = TurnStat(speech_end_s=turn.speech_end_s, decided_s=turn.decided_s, ending=turn.ending,
                        partial_ms=turn.partial_ms, decided_wall_s=turn.decided_wall_s)
        started = time.perf_counter()
        utterances = turn.utterances
        if utterances is None:
            utterances = self._transcribe(turn.audio_float32, turn.audio_offset_s)
        stat.transcribe_ms = (time.perf_counter() - started) * 1000

        mark = time.perf_counter()
        utterance = merge_turn([u for u in self._drop_echo(utterances) if u.text.strip()])
        if utterance is None:
            return
        utterance = self._label([utterance])[0]
        stat.label_ms = (time.perf_counter() - mark) * 1000
        self.utterances.append(utterance)
        self._log(utterance.end_s, ev.TRANSCRIPT_FINAL, **utterance.to_json())
        if self.screen is not None:
            self.screen.candidate_text(utterance.start_s, utterance.text, final=True, utterance=utterance)
        if not reply:
            return

        mark = time.perf_counter()
        with self.log_lock:
            actions = list(self.director.on_turn(utterance) or [])
        stat.decide_ms = (time.perf_counter() - mark) * 1000
        stat.text = utterance.text
        self._speak(actions, barge_in_allowed=True, stat=stat, started=started)
        self.turn_stats.append(stat)

    def _drop_echo(self, utterances: list[Utterance]) -> list[Utterance]:
        if not self.settings.echo_guard or self.echo_match is None:
            return utterances
        kept = []
        for u in utterances:
            said = self._interviewer_text_between(u.start_s, u.end_s)
            if said and self.echo_match(u.text, said):
                logger.info("dropped candidate text as echo of the interviewer: %r", u.text)
                self._log(u.end_s, ev.TRANSCRIPT_PARTIAL, text=u.text, dropped="echo")
                continue
            kept.append(u)
        return kept

    def _interviewer_text_between(self, start_s: float, end_s: float) -> str:
        parts = []
        for line in list(self.lines):
            if line.started_s is None:
                continue
            line_end = line.ended_s if line.ended_s is not None else self.now_s
            if line.started_s <= end_s and line_end + self.settings.echo_window_s >= start_s:
                parts.append(line.heard_text if line.heard_text is not None else line.spoken_text)
        return " ".join(parts)

    def _speak(self, actions: list[Action], barge_in_allowed: bool, stat: TurnStat | None = None,
               started: float | None = None) -> None:
        """Voice and synthesise each action's sentences, one line per action, in order."""
        recent = self._recent_transcript()
        for n, action in enumerate(actions):
            action.t_s = self.now_s
            line = _Line(action=action, barge_in_allowed=barge_in_allowed and not action.interrupt,
                         stat=stat if n == 0 else None)
            self.interviewer.append(action)
            self.lines.append(line)
            first = True
            for sentence in self._voice(action, recent, line, stat if first else None):
                mark = time.perf_counter()
                audio = self._synthesize(sentence)
                if first and stat is not None:
                    stat.synth_ms = (time.perf_counter() - mark) * 1000
                with self._play_lock:
                    if line.cancelled:
                        break
                    line.sentences.append((sentence, len(audio) / self.synth_rate))
                    line.line_ids.add(self.speakers.play(audio, self.synth_rate, new_line=first))
                if first and stat is not None:
                    stat.play_called_s = self.now_s
                    stat.play_called_wall_s = time.monotonic()
                    stat.processing_ms = (time.perf_counter() - started) * 1000 if started else 0.0
                    stat.reply_intent = action.intent
                first = False
            line.queued_all = True
            if line.cancelled:
                break

    def _recent_transcript(self, n: int = 6) -> list[tuple[str, str]]:
        """The last turns as (speaker, text), what the voice may rephrase from."""
        said = [(line.started_s or 0.0, INTERVIEWER, line.heard_text or line.spoken_text)
                for line in list(self.lines) if line.started_s is not None]
        heard = [(u.start_s, CANDIDATE, u.text) for u in list(self.utterances)]
        return [(who, text) for _, who, text in sorted(said + heard)[-n:]]

    def _voice(self, action: Action, recent: list[Utterance], line: _Line, stat: TurnStat | None):
        mark = time.perf_counter()
        for sentence in self._say(action, recent):
            if stat is not None and not stat.voice_ms:
                stat.voice_ms = (time.perf_counter() - mark) * 1000
            if sentence.strip():
                yield sentence

    # ---------------------------------------------------------------- end

    def _wind_down(self) -> None:
        """Stop cleanly whatever the reason: finish the last turn, silence the speakers."""
        self._ending = True
        # The last turn is transcribed even when the device failed: its audio is on disk.
        if self.end_reason in ("input_ended", "max_minutes", "closed", "interrupted", "device_error"):
            try:
                self._flush_turn(reply=False)
                self._wait_worker()
            except (OSError, UserError, KeyboardInterrupt) as exc:
                logger.warning("finishing the last turn: %s", exc)
        try:
            with self._play_lock:
                for line in self.lines:
                    line.cancelled = line.cancelled or line.ended_s is None
                self.speakers.stop_playback()
        except Exception as exc:  # the device may be the thing that failed
            logger.debug("stop_playback at the end: %s", exc)
        if self._worker is not None:
            self._jobs.put(None)
        try:
            self._drain_played()
        except OSError as exc:
            logger.warning("writing the last interviewer audio: %s", exc)
        self._safe_log(ev.SESSION_ENDED, reason=self.end_reason)

    def _wait_worker(self) -> None:
        deadline = time.monotonic() + self.settings.worker_wait_s
        while self._busy and time.monotonic() < deadline:
            time.sleep(0.02)
        self._raise_worker_error()


def _text(utterances: list[Utterance] | None) -> str:
    return " ".join(u.text.strip() for u in utterances or []).strip()


def merge_turn(utterances: list[Utterance]) -> Utterance | None:
    """One candidate turn as one utterance: the director reacts to turns, not to Whisper's segments."""
    if not utterances:
        return None
    return Utterance(start_s=utterances[0].start_s, end_s=utterances[-1].end_s, text=_text(utterances),
                     words=[w for u in utterances for w in u.words], speaker=CANDIDATE)


# ====================================================================== main


@dataclass
class PracticeOptions:
    """What ``practice`` was asked to do (from the command line)."""

    scenario: str | None = None
    input: str | None = None
    output: str | None = None
    mode: str = "coached"
    seed: int | None = None
    sessions_dir: Path | None = None
    tts_model: str | None = None
    max_minutes: float = 30.0
    echo_cancel: bool = True
    whisper_model: str | None = None
    voice: str = "scripted"
    args: Any = None  # the argparse namespace, for the voice's LLM settings

    @classmethod
    def from_args(cls, args) -> "PracticeOptions":
        return cls(scenario=args.scenario, input=args.input, output=args.output, mode=args.mode,
                   seed=args.seed, sessions_dir=Path(args.sessions_dir).expanduser() if args.sessions_dir else None,
                   tts_model=args.tts_model, max_minutes=args.max_minutes, echo_cancel=not args.no_echo_cancel,
                   whisper_model=args.whisper_model, voice=getattr(args, "voice", "scripted"), args=args)


def main(args) -> int:
    """``voice-interviewer practice``."""
    if getattr(args, "text", False):
        from voice_interviewer import simulate

        return simulate.practice_text(args)
    options = PracticeOptions.from_args(args)
    if options.max_minutes <= 0:
        raise UserError("--max-minutes must be more than 0")
    from voice_interviewer.scenario import load_scenario

    scenario = load_scenario(options.scenario)
    clock = SessionClock()
    mic, speakers = open_sound_devices(options, clock)
    result = run_session(scenario, mic, speakers, options, clock=clock)
    print_summary(result)
    if result.message:
        raise UserError(f"{result.message} in {result.folder}")
    # Ctrl-C (or SIGTERM) ended it: scored and saved above, and the exit code still says so.
    return 130 if result.end_reason == "interrupted" else 0


def open_sound_devices(options: PracticeOptions, clock: SessionClock):
    """The laptop's mic and speakers through PortAudio; one-line errors when there are none."""
    from voice_interviewer.live import devices

    # Name problems (no PortAudio, no such device) before a session folder exists.
    devices.import_sounddevice()
    devices.resolve_device(_device_ref(options.input), "input")
    devices.resolve_device(_device_ref(options.output), "output")
    mic = devices.SoundDeviceInput(device=_device_ref(options.input))
    speakers = devices.SoundDeviceOutput(device=_device_ref(options.output), clock=clock.now_s)
    return mic, speakers


def _device_ref(value: str | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value.strip().isdigit() else value


@dataclass
class Parts:
    transcriber: Any
    synth: Any
    director: Any
    voice: Any
    label: Callable
    echo_match: Callable | None
    models: dict[str, str]
    llm: dict[str, Any] | None = None  # LLMSettings.to_meta() for --voice openai: never the key


def load_parts(scenario, options: PracticeOptions, log: ev.EventLog, seed: int, clock: SessionClock, *,
               transcriber=None, synth=None) -> Parts:
    """Transcriber, Piper voice (scripted lines precomputed in the background), director, voice.

    ``transcriber`` and ``synth`` reuse loaded ones (tests and benchmarks run many sessions).
    """
    from voice_interviewer import analysis, director as director_mod, voice as voice_mod
    from voice_interviewer.live import aec, tts
    from voice_interviewer.models import BUNDLED_PIPER, BUNDLED_WHISPER
    from voice_interviewer.paths import data_home

    transcriber = transcriber or live_transcriber(scenario, options.whisper_model)
    if synth is None:
        # The disk cache makes every session after the first start speaking at once.
        synth = tts.Synthesizer(options.tts_model, cache_dir=data_home() / "cache" / "tts")
        synth.precompute(scripted_lines(scenario), background=True)
    director = director_mod.Director(scenario, seed=seed, log=log)
    settings = None
    if options.voice == "openai":
        from voice_interviewer.llm_config import load_settings

        settings = load_settings(options.args)
    voice = voice_mod.make_voice(options.voice, scenario, settings, log=log, clock=clock.now_s)

    def label(utterances: list[Utterance]) -> list[Utterance]:
        labelled = analysis.label_utterances(utterances, scenario)
        return list(labelled) if labelled is not None else utterances

    models = {"whisper": options.whisper_model or BUNDLED_WHISPER, "piper": options.tts_model or BUNDLED_PIPER,
              "vad": VAD_MODEL, "voice": options.voice}
    return Parts(transcriber=transcriber, synth=synth, director=director, voice=voice, label=label,
                 echo_match=aec.echo_text_match, models=models, llm=settings.to_meta() if settings else None)


def live_transcriber(scenario, whisper_model: str | None = None):
    """The transcriber of live turns: greedy, and prompted to keep fillers.

    Greedy decoding because beam 5 costs ~15 % more per partial transcript
    and the partial sits on the critical path of every reply. The filler
    prompt matters for turn-taking: without it Whisper drops a trailing "um"
    and closes the sentence with a full stop, and "I would roll back, um"
    reads as a finished proposal (docs/TURN_TAKING.md).
    """
    from voice_interviewer.stt import DecodeOptions, Transcriber, rehearsal_prompts

    prompt, hotwords = rehearsal_prompts(scenario)
    return Transcriber(model=whisper_model, prompt=prompt, hotwords=hotwords, options=DecodeOptions(beam_size=1))


def scripted_lines(scenario) -> list[str]:
    """Every line the scripted interviewer can say, for precomputing their audio."""
    lines = list(scenario.briefing) + [f.answer for f in scenario.facts]
    lines += [m.response for m in scenario.mitigations] + [c.line for c in scenario.complications]
    lines += [with_stop_prefix(c.line) for c in scenario.complications if c.interrupt]
    lines += list(scenario.pushback) + [scenario.postmortem.prompt, scenario.closing]
    return lines


def run_session(scenario, mic, speakers, options: PracticeOptions, *, clock: SessionClock | None = None,
                make_parts: Callable[..., Parts] | None = None, loop_settings: LoopSettings | None = None,
                turn_settings: TurnSettings | None = None, screen=None) -> SessionResult:
    """Open the session folder, run the conversation on these devices, write the report.

    ``make_parts(scenario, options, log, seed, clock)`` builds the parts (default
    :func:`load_parts`); the director must write to ``log``, the session's event log.
    """
    from voice_interviewer import replay, session as session_mod

    clock = clock or SessionClock()
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1_000_000)
    folder = session_mod.new_session_dir(scenario.id, options.sessions_dir)
    writer = session_mod.SessionWriter.create(folder, {
        **replay.scenario_meta(options.scenario, scenario), "seed": seed, "mode": options.mode, "kind": "practice",
        "devices": {"input": options.input, "output": options.output}, "echo_cancel": options.echo_cancel})
    logger.info("session folder %s", folder)
    loop = None
    try:
        parts = (make_parts or load_parts)(scenario, options, writer.events, seed, clock)
        writer.write_meta(models=parts.models, turn_settings=asdict(turn_settings or TurnSettings()),
                          **({"llm": parts.llm} if parts.llm else {}))
        mic = _with_echo_cancel(mic, speakers, options.echo_cancel)
        settings = loop_settings or LoopSettings(mode=options.mode, max_s=options.max_minutes * 60)
        screen = screen if screen is not None else _make_screen(scenario, settings)
        loop = PracticeLoop(mic=mic, speakers=speakers, clock=clock, writer=writer, director=parts.director,
                            transcribe=parts.transcriber.transcribe, label=parts.label,
                            say=parts.voice.say, synthesize=parts.synth.synthesize,
                            synth_rate=parts.synth.sample_rate, turn_settings=turn_settings,
                            settings=settings, screen=screen, echo_match=parts.echo_match)
        with _sigterm_as_interrupt():
            loop.prepare()
            _start_devices(mic, speakers)
            if screen is not None:
                screen.start()
            try:
                loop.run()
            finally:
                if screen is not None:
                    screen.stop()
                _stop_devices(mic, speakers)
    finally:
        writer.close()
    result = SessionResult(folder=folder, end_reason=loop.end_reason, duration_s=clock.now_s(),
                           utterances=loop.utterances, events=list(writer.events.events),
                           interviewer=loop.interviewer, turn_stats=loop.turn_stats, message=loop.message)
    result.report = finish_session(result, scenario, writer, seed)
    return result


def _with_echo_cancel(mic, speakers, enabled: bool):
    if not enabled:
        return mic
    from voice_interviewer.live import aec

    return aec.EchoCancelledInput(mic, speakers)


def _start_devices(mic, speakers) -> None:
    speakers.start()
    mic.start()


def _stop_devices(mic, speakers) -> None:
    for device in (mic, speakers):
        try:
            device.stop()
        except Exception as exc:  # a device that already failed may fail again on close
            logger.debug("closing %s: %s", type(device).__name__, exc)


class _sigterm_as_interrupt:
    """SIGTERM ends the session like Ctrl-C (report written), on the main thread only."""

    def __enter__(self):
        self._old = None
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)
        return False


def _make_screen(scenario, settings: LoopSettings):
    from voice_interviewer.live.screen import Screen

    return Screen(mode=settings.mode, mark_s=scenario.mitigation_mark_s, title=scenario.title)


def finish_session(result: SessionResult, scenario, writer, seed: int) -> dict[str, Any] | None:
    """report.json / report.md in the folder, built the way ``replay`` builds it from the folder.

    The live utterances stand in for replay's transcription of candidate.wav;
    everything after that (sentence split, onset refinement, labels, the
    interviewer's lines from the log, t0 = briefing_ended) is replay's own code.
    """
    from voice_interviewer import replay
    from voice_interviewer.session import read_session

    try:
        t0_s = next((e.t_s for e in result.events if e.kind == ev.BRIEFING_ENDED), 0.0)
        writer.write_meta(t0_s=t0_s, duration_s=round(result.duration_s, 3), end_reason=result.end_reason)
        source = replay.ReplayInput(result.folder, replay.SESSION, audio_path=writer.candidate.path,
                                    session=read_session(result.folder))
        heard = replay.Heard(utterances=_sentences(result.utterances, writer.candidate.path), t0_s=t0_s,
                             duration_s=max(result.duration_s, replay._last_event_s(source.session.events)))
        heard.interviewer_events = replay.interviewer_events(source.session.events)
        heard.utterances = replay.merge_by_time(heard.utterances, replay.interviewer_utterances(source.session.events))
        replay.label(heard, scenario)
        options = replay.ReplayOptions(scenario=scenario.source or scenario.id, seed=seed)
        report = replay.build(source, scenario, heard, ev.EventLog(), [replay.interviewer_line(e)
                              for e in heard.interviewer_events], options)
        report.setdefault("meta", {}).update({"models": writer.meta.get("models", {}), "kind": "practice",
                                              "end_reason": result.end_reason})
        replay.write(report, result.folder)
    except OSError as exc:
        logger.warning("could not write the report: %s", exc)
        result.message = result.message or f"could not write the report ({exc.strerror}); replay the folder later"
        return None
    except UserError as exc:  # nothing said, or the report could not be written
        logger.info("no report: %s", exc)
        return None
    except ImportError as exc:  # the analysis or report module is not installed in this build
        logger.warning("no report: %s", exc)
        return None
    try:
        replay.record_history(report)
    except Exception as exc:  # history is a convenience; the report is written
        logger.warning("could not record the attempt in the history: %s", exc)
    return report


def _sentences(utterances: list[Utterance], candidate_wav: Path) -> list[Utterance]:
    """Live turns cut into sentences with energy-refined onsets, as replay does."""
    from voice_interviewer import replay
    from voice_interviewer.onset import refine_utterance_onsets
    from voice_interviewer.session import read_wav_tolerant

    out = replay.split_sentences([u for u in utterances if u.words])
    audio_float32, rate = read_wav_tolerant(candidate_wav)
    out = refine_utterance_onsets(out, audio_float32, rate)
    for u in out:
        u.speaker = CANDIDATE
    return out


def print_summary(result: SessionResult) -> None:
    """The summary ``replay`` prints (report.summary_text), then how the session ended and where it is."""
    report = result.report or {}
    if report:
        from voice_interviewer.report import summary_text

        print(summary_text(report))
        print(f"session {result.end_reason} after {result.duration_s:.0f} s; saved in {result.folder}")
        return
    print(f"session {result.end_reason} after {result.duration_s:.0f} s: no report written; "
          f"saved in {result.folder}")
