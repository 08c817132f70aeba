"""Turn-taking: when has the candidate finished speaking?

Silero VAD (the ONNX model faster-whisper ships) gives a speech probability
for every 512-sample frame of 16 kHz mono audio, keeping its recurrent state
from frame to frame. :class:`TurnDetector` turns those probabilities into
speech onsets and turn ends. Silence alone is not enough: people thinking
aloud pause mid-clause for a second or more, so when a pause starts the
utterance so far is transcribed (tiny.en takes a few hundred milliseconds)
and the words decide how much silence ends the turn:

    ending                       example                          silence that ends the turn
    question                     "which endpoints are failing?"  TurnSettings.complete_ms
    proposal                     "let's roll back v2.3.1."        TurnSettings.complete_ms
    acknowledgement              "okay." / "right."               TurnSettings.complete_ms
    statement                    "the database is full."          TurnSettings.statement_ms
    unfinished                   "so we'd check the, um"          TurnSettings.incomplete_ms
    no words yet                 (transcript not back)            TurnSettings.unknown_ms

After the interviewer asks an open question ("What do you do?") the first
turn gets ``after_open_question_ms`` of thinking time unless it ends in a
question or a proposal. The numbers, and the measurements behind the
defaults, are in docs/TURN_TAKING.md.

The detector is fed frames by the practice loop's own thread, never by an
audio callback: the partial transcription it triggers blocks for a while.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from voice_interviewer.utterances import Utterance

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
FRAME_SAMPLES = 512  # Silero's window at 16 kHz: 32 ms
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
_CONTEXT_SAMPLES = 64  # Silero v5/v6 prepend the previous frame's last 64 samples

# Endings of what the candidate said so far.
QUESTION = "question"
PROPOSAL = "proposal"
ACK = "ack"
STATEMENT = "statement"
INCOMPLETE = "incomplete"
UNKNOWN = "unknown"


@dataclass
class TurnSettings:
    """The numbers of turn-taking. Defaults are measured: docs/TURN_TAKING.md."""

    speech_threshold: float = 0.5
    """Silero probability at or above which a frame is speech (Silero's own default)."""
    silence_threshold: float = 0.35
    """Probability below which a frame counts as silence; the gap is hysteresis,
    so a soft syllable does not split a word into speech and silence."""
    min_speech_ms: float = 96.0
    """Speech this long starts an utterance; shorter blips (a click, a breath) do not."""
    complete_ms: float = 550.0
    """Silence that ends a turn ending in a question, a proposal or an acknowledgement."""
    statement_ms: float = 900.0
    """Silence that ends a turn ending in a plain statement: often more is coming."""
    incomplete_ms: float = 1800.0
    """Silence that ends a turn ending in "and", "so", "um", "because" or a dangling clause."""
    unknown_ms: float = 1000.0
    """Silence that ends a turn whose partial transcript is empty or not back yet."""
    after_open_question_ms: float = 2500.0
    """Thinking time after the interviewer asked an open question, for statements,
    acknowledgements and silence without words (not for questions and proposals)."""
    partial_after_ms: float = 192.0
    """Silence after which the utterance so far is transcribed to decide the ending.
    Longer than the longest pause inside a word, so it rarely runs in vain."""
    max_turn_s: float = 60.0
    """A turn is cut here whatever is said: the transcriber's window stays bounded."""
    barge_in_min_speech_ms: float = 128.0
    """Speech this long during the interviewer's line stops the line (barge-in)."""
    pre_roll_ms: float = 192.0
    """Audio kept from before the detected onset, so the first syllable is transcribed."""


@dataclass
class TurnEnd:
    """One finished candidate turn."""

    start_s: float  # first speech frame on the session clock
    speech_end_s: float  # last speech frame's end
    decided_s: float  # when silence and words ended the turn
    audio_float32: np.ndarray  # the turn's audio from start_s - pre_roll
    audio_offset_s: float  # session time of audio_float32[0]
    ending: str  # QUESTION, PROPOSAL, ...
    reason: str  # e.g. "question after 550 ms of silence", "max_turn_s"
    utterances: list[Utterance] | None = None  # the partial transcript, when still valid
    partial_ms: float = 0.0  # time spent transcribing partials in this turn (wall clock)
    decided_wall_s: float = 0.0  # time.monotonic() when the caller acted on the decision

    @property
    def endpoint_wait_s(self) -> float:
        return self.decided_s - self.speech_end_s


# ----------------------------------------------------------------- the words

_ACKS = {
    "yeah", "yes", "yep", "yup", "ok", "okay", "right", "sure", "got it", "makes sense",
    "uh-huh", "mm-hmm", "mhm", "alright", "all right", "cool", "thanks", "thank you",
    "understood", "no", "nope", "correct", "exactly", "great", "good", "fine", "i see",
    "okay got it", "yeah okay", "okay thanks", "right okay", "sounds good", "will do", "noted",
}
# A turn ending on one of these is not finished: a conjunction, a filler, an
# article or preposition waiting for its noun, a subject waiting for its verb.
_DANGLING = {
    "and", "so", "but", "or", "because", "cause", "cuz", "then", "if", "unless", "until", "while",
    "when", "since", "although", "though", "whether", "like", "um", "uh", "er", "erm", "hmm",
    "uhm", "mm", "the", "a", "an", "to", "of", "with", "that", "which", "who", "for", "from",
    "on", "in", "at", "by", "into", "about", "my", "our", "their", "its", "your", "this",
    "these", "those", "i", "we", "you", "they", "it's", "i'm", "we're", "i'd", "we'd", "i'll",
    "we'll", "is", "are", "was", "were", "would", "could", "should", "will", "can", "might",
    "must", "let's", "maybe", "also", "first", "actually", "basically", "probably", "just",
    "whatever", "some", "any", "more", "than", "as", "not", "or", "either", "both",
}
_QUESTION_OPENERS = {
    "what", "which", "how", "why", "when", "where", "who", "whose", "is", "are", "was", "were",
    "do", "does", "did", "can", "could", "should", "would", "will", "has", "have", "had", "any",
}
# Imperatives and first-person plans that make a sentence a proposal. The
# concrete-mitigation detector (analysis.label_text) is stricter; this only
# has to tell "I'd roll back the auth service." from "the pool is full."
_PROPOSAL = re.compile(
    r"\b(roll(ing)? ?back|revert|turn(ing)? (it |that |the \S+ )?off|disable|flip|kill|restart|"
    r"reboot|fail(ing)? ?over|drain|scale|rate.?limit|shed|freeze|pause|page|escalate|"
    r"declare|open an incident|post (a|an) (update|status)|update the status|i'?d|i would|"
    r"i will|i'?ll|let'?s|we should|we'?ll|we need to|my first|first thing)\b",
    re.IGNORECASE,
)
_OPEN_QUESTION_OPENERS = {"what", "how", "why", "walk", "tell", "talk", "where", "which", "describe"}
_WORD = re.compile(r"[a-z0-9'-]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def classify_ending(text: str) -> str:
    """How the words so far end: QUESTION, PROPOSAL, ACK, STATEMENT, INCOMPLETE or UNKNOWN."""
    stripped = text.strip()
    words = _words(stripped)
    if not words:
        return UNKNOWN
    if " ".join(words) in _ACKS:
        return ACK
    if stripped.endswith("?"):  # before the dangling words: "what does it look like?"
        return QUESTION
    if words[-1] in _DANGLING or stripped.endswith((",", "...", "…", "-", "—", ";", ":")):
        return INCOMPLETE
    last_sentence = re.split(r"(?<=[.!?])\s+", stripped)[-1]
    opener = _words(last_sentence)[:1]
    if opener and opener[0] in _QUESTION_OPENERS:
        return QUESTION
    if _PROPOSAL.search(last_sentence):
        return PROPOSAL
    return STATEMENT


def is_open_question(line: str) -> bool:
    """Whether an interviewer line ends with an open question ("What do you do?")."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", line.strip()) if s]
    if not sentences or not sentences[-1].endswith("?"):
        return False
    first = _words(sentences[-1])[:1]
    return bool(first) and first[0] in _OPEN_QUESTION_OPENERS


def required_silence_ms(ending: str, settings: TurnSettings, after_open_question: bool) -> float:
    """Silence that ends a turn with this ending."""
    base = {
        QUESTION: settings.complete_ms,
        PROPOSAL: settings.complete_ms,
        ACK: settings.complete_ms,
        STATEMENT: settings.statement_ms,
        INCOMPLETE: settings.incomplete_ms,
        UNKNOWN: settings.unknown_ms,
    }[ending]
    if after_open_question and ending in (ACK, STATEMENT, UNKNOWN):
        # "Okay." or "the deploy log..." in reply to "What do you do?" is the
        # candidate gathering their thoughts, not handing the floor back.
        return max(base, settings.after_open_question_ms)
    return base


# ------------------------------------------------------------------- the VAD


class StreamingVad:
    """Silero VAD over consecutive 512-sample frames, state carried across calls.

    faster-whisper's ``SileroVADModel.__call__`` resets the recurrent state on
    every call (it is built for whole files); here the ONNX session is driven
    one frame at a time with the state and the 64-sample context kept.
    """

    def __init__(self) -> None:
        try:
            from faster_whisper.vad import get_vad_model
        except ImportError:
            from voice_interviewer.errors import UserError

            raise UserError("voice activity detection needs faster-whisper: pip install faster-whisper") from None
        self._session = get_vad_model().session
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT_SAMPLES, dtype=np.float32)

    def probability(self, frame_float32: np.ndarray) -> float:
        """Speech probability of one 512-sample frame at 16 kHz."""
        if len(frame_float32) != FRAME_SAMPLES:
            raise ValueError(f"expected {FRAME_SAMPLES} samples, got {len(frame_float32)}")
        x = np.concatenate([self._context, frame_float32.astype(np.float32, copy=False)])[None, :]
        prob, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = x[0, -_CONTEXT_SAMPLES:].copy()
        return float(prob[0])

    def probabilities(self, audio_float32: np.ndarray) -> np.ndarray:
        """Frame probabilities of a whole buffer (trailing partial frame dropped)."""
        n = len(audio_float32) // FRAME_SAMPLES
        return np.array([self.probability(audio_float32[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES])
                         for i in range(n)], dtype=np.float32)


# -------------------------------------------------------------- the detector

TranscribeFn = Callable[[np.ndarray, float], list[Utterance]]


@dataclass
class FrameResult:
    """What one frame changed."""

    probability: float
    speech_started_s: float | None = None  # an utterance began (onset time)
    turn: TurnEnd | None = None  # a turn ended
    partial: list[Utterance] | None = None  # a partial transcript was made


@dataclass
class _Turn:
    start_s: float
    offset_s: float
    chunks: list[np.ndarray] = field(default_factory=list)
    last_speech_end_s: float = 0.0
    partial: list[Utterance] | None = None
    partial_through_s: float = -1.0  # speech end the partial covers
    partial_ms: float = 0.0


class TurnDetector:
    """Frames in, speech onsets and turn ends out.

    ``transcribe`` is called (on the caller's thread) when a pause starts, with
    the utterance's audio so far and its session offset; pass ``None`` to
    decide by silence alone (every ending is then UNKNOWN).
    """

    def __init__(self, settings: TurnSettings | None = None, transcribe: TranscribeFn | None = None,
                 vad: StreamingVad | None = None) -> None:
        self.settings = settings or TurnSettings()
        self.transcribe = transcribe
        self.vad = vad or StreamingVad()
        self.after_open_question = False
        self._pre_roll: list[np.ndarray] = []
        self._pre_roll_frames = max(1, int(round(self.settings.pre_roll_ms / 1000 / FRAME_S)))
        self._speech_run = 0  # consecutive speech frames
        self._silence_run = 0  # consecutive silent frames while in a turn
        self._turn: _Turn | None = None
        self._frames_seen = 0

    # --------------------------------------------------------------- state

    @property
    def in_turn(self) -> bool:
        return self._turn is not None

    @property
    def speech_run_ms(self) -> float:
        """How long the current stretch of speech has lasted (0 in silence)."""
        return self._speech_run * FRAME_S * 1000

    @property
    def silence_run_ms(self) -> float:
        return self._silence_run * FRAME_S * 1000

    def speaking_for_s(self, now_s: float) -> float:
        """Length of the current turn so far, 0 outside a turn."""
        return now_s - self._turn.start_s if self._turn else 0.0

    def set_open_question(self, open_question: bool) -> None:
        """The interviewer just asked an open question: allow thinking time in the next turn."""
        self.after_open_question = open_question

    def reset(self) -> None:
        """Forget the current turn (after the interviewer took the floor)."""
        self._turn = None
        self._speech_run = 0
        self._silence_run = 0

    # --------------------------------------------------------------- frames

    def feed(self, frame_float32: np.ndarray, t_s: float) -> FrameResult:
        """One 512-sample frame whose first sample is at ``t_s`` on the session clock."""
        s = self.settings
        prob = self.vad.probability(frame_float32)
        result = FrameResult(probability=prob)
        end_s = t_s + FRAME_S
        is_speech = prob >= s.speech_threshold
        is_silence = prob < s.silence_threshold
        if is_speech:
            self._speech_run += 1
        elif is_silence:
            self._speech_run = 0

        if self._turn is None:
            self._pre_roll.append(frame_float32)
            if len(self._pre_roll) > self._pre_roll_frames + 16:
                self._pre_roll.pop(0)
            if self._speech_run * FRAME_S * 1000 >= s.min_speech_ms:
                onset_s = end_s - self._speech_run * FRAME_S
                kept = self._pre_roll[-(self._speech_run + self._pre_roll_frames):]
                self._turn = _Turn(start_s=onset_s, offset_s=end_s - len(kept) * FRAME_S, chunks=list(kept),
                                   last_speech_end_s=end_s)
                self._pre_roll = []
                self._silence_run = 0
                result.speech_started_s = onset_s
            return result

        turn = self._turn
        turn.chunks.append(frame_float32)
        if not is_silence:
            if is_speech:
                turn.last_speech_end_s = end_s
            self._silence_run = 0
            if end_s - turn.start_s >= s.max_turn_s:
                result.turn = self._finish(end_s, STATEMENT, f"max_turn_s {s.max_turn_s:g}")
            return result

        self._silence_run += 1
        silence_ms = (end_s - turn.last_speech_end_s) * 1000
        if silence_ms >= s.partial_after_ms and turn.partial_through_s != turn.last_speech_end_s:
            result.partial = self._transcribe_partial(turn)
        ending = self._ending(turn)
        needed_ms = required_silence_ms(ending, s, self.after_open_question)
        if silence_ms >= needed_ms:
            result.turn = self._finish(end_s, ending, f"{ending} after {silence_ms:.0f} ms of silence")
        return result

    def flush(self, t_s: float) -> TurnEnd | None:
        """End the current turn now (the session is ending, or the interviewer cut in)."""
        if self._turn is None:
            return None
        if self._turn.partial_through_s != self._turn.last_speech_end_s:
            self._transcribe_partial(self._turn)
        return self._finish(t_s, self._ending(self._turn), "flushed")

    # -------------------------------------------------------------- helpers

    def _transcribe_partial(self, turn: _Turn) -> list[Utterance] | None:
        turn.partial_through_s = turn.last_speech_end_s
        if self.transcribe is None:
            return None
        import time

        started = time.perf_counter()
        turn.partial = self.transcribe(np.concatenate(turn.chunks), turn.offset_s)
        elapsed_ms = (time.perf_counter() - started) * 1000
        turn.partial_ms += elapsed_ms
        logger.debug("partial transcript in %.0f ms: %r", elapsed_ms, _text(turn.partial))
        return turn.partial

    def _ending(self, turn: _Turn) -> str:
        if turn.partial is None or turn.partial_through_s != turn.last_speech_end_s:
            return UNKNOWN
        return classify_ending(_text(turn.partial))

    def _finish(self, decided_s: float, ending: str, reason: str) -> TurnEnd:
        turn = self._turn
        assert turn is not None
        valid = turn.partial if turn.partial_through_s == turn.last_speech_end_s else None
        end = TurnEnd(start_s=turn.start_s, speech_end_s=turn.last_speech_end_s, decided_s=decided_s,
                      audio_float32=np.concatenate(turn.chunks), audio_offset_s=turn.offset_s,
                      ending=ending, reason=reason, utterances=valid, partial_ms=turn.partial_ms)
        logger.info("turn ended: %s (%.1f s of speech)", reason, turn.last_speech_end_s - turn.start_s)
        self._turn = None
        self._silence_run = 0
        self.after_open_question = False
        return end


def _text(utterances: list[Utterance] | None) -> str:
    return " ".join(u.text.strip() for u in utterances or []).strip()
