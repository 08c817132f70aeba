"""End of turn from silence and words, on real rendered speech and the real tiny.en.

The rules (voice_interviewer/live/turns.py, docs/TURN_TAKING.md): a question,
a proposal or an acknowledgement ends a turn after a short silence; a
trailing "and", "so", "um", "because" waits longer; after an open question a
statement gets thinking time.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from speech_scenes import corpus_clip, espeak_clip, piper_clip
from voice_interviewer.live import turns
from voice_interviewer.live.turns import FRAME_S, FRAME_SAMPLES, TurnDetector, TurnSettings, classify_ending

SR = 16_000
LEAD_S = 0.5
TAIL_S = 4.0


@functools.lru_cache(maxsize=1)
def _transcriber():
    from voice_interviewer.live.practice import live_transcriber
    from voice_interviewer.scenario import load_scenario

    return live_transcriber(load_scenario(None))


def run_detector(parts, open_question: bool = False, settings: TurnSettings | None = None):
    """Feed silence/speech parts (seconds or 16 kHz arrays) through a real detector; return its turns."""
    audio = np.concatenate([np.zeros(int(p * SR), np.float32) if isinstance(p, (int, float)) else p
                            for p in parts])
    audio = np.concatenate([audio, np.zeros(-len(audio) % FRAME_SAMPLES, np.float32)])
    detector = TurnDetector(settings or TurnSettings(), transcribe=_transcriber().transcribe)
    detector.set_open_question(open_question)
    ended = []
    for i in range(len(audio) // FRAME_SAMPLES):
        result = detector.feed(audio[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES], i * FRAME_S)
        if result.turn is not None:
            ended.append(result.turn)
    return ended


def one_turn(parts, **kwargs):
    ended = run_detector(parts, **kwargs)
    assert len(ended) == 1, [(t.start_s, t.reason) for t in ended]
    return ended[0]


# ------------------------------------------------------------------ the words


@pytest.mark.parametrize("text, ending", [
    ("Yeah.", turns.ACK),
    ("Okay, got it.", turns.ACK),
    ("Right.", turns.ACK),
    ("Which endpoints are failing?", turns.QUESTION),
    ("which endpoint are failing.", turns.QUESTION),  # Whisper often drops the question mark
    ("What does the latency look like?", turns.QUESTION),  # "like" ends it, the "?" wins
    ("I'd roll back the auth service to v2.3.0.", turns.PROPOSAL),
    ("Let's turn the token cache flag off.", turns.PROPOSAL),
    ("The database is at 200 connections.", turns.STATEMENT),
    ("I would check the dashboards and", turns.INCOMPLETE),
    ("The error rate is at 12%. So.", turns.INCOMPLETE),
    ("We should roll back because...", turns.INCOMPLETE),
    ("I will roll back, um.", turns.INCOMPLETE),
    ("I would check the dashboards in.", turns.INCOMPLETE),  # a reduced "and" as Whisper hears it
    ("", turns.UNKNOWN),
])
def test_classify_ending(text, ending):
    assert classify_ending(text) == ending


@pytest.mark.parametrize("line, is_open", [
    ("You have the dashboards, the deploy log and the incident channel. What do you do?", True),
    ("Walk me through the postmortem you'd write?", True),
    ("Is it any better?", False),
    ("The rollback is going out.", False),
])
def test_open_question(line, is_open):
    assert turns.is_open_question(line) is is_open


def test_silence_needed_orders_the_endings():
    s = TurnSettings()
    need = {e: turns.required_silence_ms(e, s, after_open_question=False)
            for e in (turns.QUESTION, turns.PROPOSAL, turns.ACK, turns.STATEMENT, turns.INCOMPLETE)}
    assert need[turns.QUESTION] == need[turns.PROPOSAL] == need[turns.ACK] < need[turns.STATEMENT] \
        < need[turns.INCOMPLETE]
    assert turns.required_silence_ms(turns.STATEMENT, s, True) == s.after_open_question_ms
    assert turns.required_silence_ms(turns.QUESTION, s, True) == s.complete_ms


# ------------------------------------------------------------ real speech


def test_short_ack_finishes_fast():
    turn = one_turn([LEAD_S, piper_clip("Yeah."), TAIL_S])
    assert turn.ending == turns.ACK
    s = TurnSettings()
    assert s.complete_ms / 1000 <= turn.endpoint_wait_s < s.statement_ms / 1000


def test_question_finishes_fast():
    turn = one_turn([LEAD_S, piper_clip("Which endpoints are failing?"), TAIL_S])
    assert turn.ending == turns.QUESTION
    assert turn.endpoint_wait_s < TurnSettings().statement_ms / 1000
    assert turn.utterances, "the partial transcript is handed on, not redone"


@pytest.mark.parametrize("text", ["I would check the dashboards and", "We should roll back because"])
def test_trailing_conjunction_waits(text):
    turn = one_turn([LEAD_S, piper_clip(text), TAIL_S])
    assert turn.ending == turns.INCOMPLETE
    assert turn.endpoint_wait_s >= TurnSettings().incomplete_ms / 1000


def test_open_question_waits_longer():
    statement = piper_clip("The dashboards show the error rate is flat.")
    plain = one_turn([LEAD_S, statement, TAIL_S])
    after_question = one_turn([LEAD_S, statement, TAIL_S], open_question=True)
    s = TurnSettings()
    assert plain.ending == after_question.ending == turns.STATEMENT
    assert s.statement_ms / 1000 <= plain.endpoint_wait_s < s.after_open_question_ms / 1000
    assert after_question.endpoint_wait_s >= s.after_open_question_ms / 1000


def test_thinking_pause_after_um_keeps_the_turn():
    # 1.2 s of silence would end a turn on silence alone (statement_ms 900);
    # the trailing "um" holds it open.
    ended = run_detector([LEAD_S, piper_clip("I would roll back, um"), 1.2, piper_clip("the auth service."), TAIL_S])
    assert len(ended) == 1
    assert "auth" in " ".join(u.text.lower() for u in ended[0].utterances or [])


def test_acknowledgement_in_another_voice():
    turn = one_turn([LEAD_S, espeak_clip("Okay."), TAIL_S])
    assert turn.ending == turns.ACK


@pytest.mark.parametrize("name", ["LJ001-0001", "LJ001-0003", "fleurs-en-000", "fleurs-en-001", "fleurs-en-002"])
def test_read_sentences_are_one_turn(name):
    """Real human speech with pauses of up to 0.7 s inside: never cut mid-sentence."""
    one_turn([LEAD_S, corpus_clip(name), TAIL_S])
