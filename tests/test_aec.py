"""Echo cancelling, measured on real speech.

The interviewer is the bundled Piper voice reading scenario-like lines; the
candidate is a clip of real human speech from the shared corpus. The
interviewer leaks into the mic at -12 dB after a delay, through a synthetic
room response (VirtualDevicePair), and the cleaned mic goes through Silero
VAD with the barge-in rule and numbers the loop uses (turns.TurnSettings:
a run of speech frames of at least barge_in_min_speech_ms). Figures are printed (pytest -s) and checked against bars:
ERLE >= 10 dB and at most 1 false barge-in per minute of echo.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REAL_SPEECH_DIR, require
from voice_interviewer.live.aec import EchoCancelledInput, EchoCanceller, echo_text_match
from voice_interviewer.live.devices import (FRAME_SAMPLES, PLAYED_FRAME_SAMPLES, SAMPLE_RATE, VirtualDevicePair,
                                            load_audio_16k, resample, room_impulse_response)
from voice_interviewer.live.turns import StreamingVad, TurnSettings

ECHO_GAIN_DB = -12.0
# The barge-in rule of the conversation loop (turns.py), with its own numbers:
# a run of speech frames (probability >= speech_threshold, broken only by a
# frame under silence_threshold) long enough to start a turn and to barge in.
LOOP = TurnSettings()
BARGE_IN_RUN_FRAMES = int(np.ceil(max(LOOP.min_speech_ms, LOOP.barge_in_min_speech_ms)
                                  * SAMPLE_RATE / 1000 / FRAME_SAMPLES))
CONVERGE_S = 3.0  # ERLE is measured after the adaptive filter has had this long
MIN_ERLE_DB = 10.0
MAX_FALSE_BARGE_INS_PER_MIN = 1.0
MAX_BARGE_IN_COST_S = 0.3  # extra barge-in delay the canceller may add over the same speech without echo

INTERVIEWER_LINES = [
    "Core API is returning 500s on 12% of traffic. You are on call and it is 2am.",
    "The deploy of v2.3 went out at 1:40 am. Error rates started climbing two minutes later.",
    "Checkout p99 is at 2.1 s. The database looks healthy so far. What would you do first?",
]


@pytest.fixture(scope="module")
def interviewer_16k() -> list[np.ndarray]:
    from voice_interviewer.live.tts import Synthesizer

    synth = Synthesizer(noise_scale=0.0, noise_w_scale=0.0)  # repeatable speech, repeatable figures
    return [resample(synth.synthesize(line), synth.sample_rate, SAMPLE_RATE) for line in INTERVIEWER_LINES]


@pytest.fixture(scope="module")
def vad():
    return StreamingVad()


CANDIDATE_CLIPS = ["LJ001-0001.wav", "LJ001-0002.wav", "LJ001-0003.wav"]
CANDIDATE_MAX_S = 3.0


@pytest.fixture(scope="module")
def candidates_16k() -> list[np.ndarray]:
    paths = [REAL_SPEECH_DIR / name for name in CANDIDATE_CLIPS]
    require(all(p.is_file() for p in paths), f"real speech corpus missing: {REAL_SPEECH_DIR}")
    return [load_audio_16k(p)[: int(CANDIDATE_MAX_S * SAMPLE_RATE)] for p in paths]


def speech_probs(vad: StreamingVad, audio: np.ndarray) -> np.ndarray:
    """Frame by frame, state carried, as the live loop runs it."""
    vad.reset()
    return vad.probabilities(audio)


def barge_in_onsets_s(probs: np.ndarray) -> list[float]:
    """Times at which the loop's barge-in rule would fire (once per run of speech)."""
    onsets, run = [], 0
    for i, p in enumerate(probs):
        if p >= LOOP.speech_threshold:
            run += 1
        elif p < LOOP.silence_threshold:
            run = 0
        if run == BARGE_IN_RUN_FRAMES and p >= LOOP.speech_threshold:
            onsets.append((i + 1) * FRAME_SAMPLES / SAMPLE_RATE)
    return onsets


def run_session(lines, delay_ms: float, hint_ms: float, candidate=None, candidate_line: int = 2,
                candidate_after_s: float = 3.0, seed: int = 0):
    """Play the lines on a virtual pair with echo; returns (raw mic, cleaned mic, candidate onset s)."""
    pair = VirtualDevicePair(echo_gain_db=ECHO_GAIN_DB, echo_delay_ms=delay_ms, noise_dbfs=-65.0, seed=seed,
                             echo_ir=room_impulse_response(seed=seed))
    mic = EchoCancelledInput(pair.input, pair.output, extra_delay_ms=hint_ms)
    mic.start()
    raw, clean, onset_s = [], [], None

    def pump(n_frames=None):
        while (pair.output.is_playing if n_frames is None else len(clean) < n_frames):
            clean.append(mic.read())
            raw.append(mic.last_raw)

    for i, line in enumerate(lines):
        pair.output.play(line, SAMPLE_RATE, new_line=True)
        if candidate is not None and i == candidate_line:
            onset_s = pair.clock() + candidate_after_s
            pair.feed(candidate, at_s=onset_s)
        pump()
        pump(len(clean) + int(1.0 * SAMPLE_RATE / FRAME_SAMPLES))  # a second of quiet between lines
    return np.concatenate(raw), np.concatenate(clean), onset_s


def energy_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-20))


@pytest.mark.parametrize("delay_ms", [50.0, 100.0])
def test_echo_at_minus_12_db_is_cancelled_without_false_barge_ins(interviewer_16k, vad, delay_ms):
    raw, clean, _ = run_session(interviewer_16k, delay_ms=delay_ms, hint_ms=delay_ms, seed=int(delay_ms))
    skip = int(CONVERGE_S * SAMPLE_RATE)
    erle_db = energy_db(raw[skip:]) - energy_db(clean[skip:])
    minutes = raw.size / SAMPLE_RATE / 60
    raw_false = len(barge_in_onsets_s(speech_probs(vad, raw)))
    clean_false = len(barge_in_onsets_s(speech_probs(vad, clean)))
    print(f"\necho -12 dB, delay {delay_ms:.0f} ms, {raw.size / SAMPLE_RATE:.1f} s of echo: "
          f"ERLE {erle_db:.1f} dB; false barge-ins without AEC {raw_false / minutes:.1f}/min, "
          f"with AEC {clean_false / minutes:.2f}/min")

    assert raw_false > 0, "the echo alone should trigger barge-in without cancelling, or the test proves nothing"
    assert erle_db >= MIN_ERLE_DB
    assert clean_false / minutes <= MAX_FALSE_BARGE_INS_PER_MIN


def test_delay_estimator_copes_without_a_latency_hint(interviewer_16k, vad):
    raw, clean, _ = run_session(interviewer_16k, delay_ms=100.0, hint_ms=0.0, seed=7)
    skip = int(CONVERGE_S * SAMPLE_RATE)
    erle_db = energy_db(raw[skip:]) - energy_db(clean[skip:])
    print(f"\nno delay hint, real delay 100 ms: ERLE {erle_db:.1f} dB")
    assert erle_db >= MIN_ERLE_DB


def test_candidate_barging_in_over_the_echo_is_still_heard(interviewer_16k, vad, candidates_16k):
    """Double talk: the canceller must not suppress the candidate along with the echo."""
    delays_s, kept_db, baseline_s, elsewhere = [], [], [], 0
    for i, clip in enumerate(candidates_16k):
        alone = barge_in_onsets_s(speech_probs(vad, np.concatenate([np.zeros(SAMPLE_RATE, np.float32), clip])))
        baseline_s.append(alone[0] - 1.0)
        raw, clean, onset_s = run_session(interviewer_16k, delay_ms=60.0, hint_ms=60.0, candidate=clip,
                                          candidate_line=1 + i % 2, candidate_after_s=1.0, seed=i)
        a, b = int(onset_s * SAMPLE_RATE), int(onset_s * SAMPLE_RATE) + clip.size
        kept_db.append(energy_db(clean[a:b]) - energy_db(clip))
        onsets = barge_in_onsets_s(speech_probs(vad, clean))
        during = [t - onset_s for t in onsets if onset_s <= t <= onset_s + clip.size / SAMPLE_RATE]
        delays_s.append(during[0] if during else None)
        elsewhere += len(onsets) - len(during)
    print("\ndouble talk (echo -12 dB, 60 ms): barge-in fires after "
          + ", ".join("missed" if d is None else f"{d * 1000:.0f} ms" for d in delays_s)
          + " (no echo: " + ", ".join(f"{d * 1000:.0f} ms" for d in baseline_s) + "); candidate level after AEC "
          + ", ".join(f"{k:+.1f} dB" for k in kept_db) + f"; {elsewhere} barge-ins outside the candidate's speech")

    assert all(d is not None for d in delays_s), "the candidate over the interviewer must still trigger barge-in"
    # cancelling may cost the barge-in rule a little time, not a conversation's worth
    assert all(d <= base + MAX_BARGE_IN_COST_S for d, base in zip(delays_s, baseline_s))
    assert elsewhere == 0


def test_canceller_rejects_frames_that_are_not_10_ms():
    canceller = EchoCanceller()
    with pytest.raises(ValueError):
        canceller.process_capture(np.zeros(FRAME_SAMPLES, np.float32))
    out = canceller.process_capture(np.zeros(PLAYED_FRAME_SAMPLES, np.float32))
    assert out.shape == (PLAYED_FRAME_SAMPLES,) and out.dtype == np.float32


@pytest.mark.parametrize("candidate, interviewer, expected", [
    ("the deploy went out at one forty", "The deploy went out at 1:40 am, and error rates jumped.", True),
    ("error rates started climbing", "Error rates started climbing two minutes later.", True),
    ("the deploys went out", "The deploy went out at 1:40 am.", True),  # Whisper's plural
    ("I would roll back the deploy right now", "The deploy went out at 1:40 am.", False),
    ("okay", "Okay, what do you do first?", False),  # one word is never called echo
    ("what next", "Okay, what next?", True),
    ("next what", "Okay, what next?", False),
    ("", "anything", False),
    ("roll back", "", False),
])
def test_echo_text_match(candidate, interviewer, expected):
    assert echo_text_match(candidate, interviewer) is expected
