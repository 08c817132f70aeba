"""Onset refinement on real rendered speech placed at known times in silence and noise."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REAL_SPEECH_DIR, require, require_program
from speech_scenes import corpus_clip, espeak_clip, noise, normalised, piper_clip, scene
from voice_interviewer.audio_io import SAMPLE_RATE
from voice_interviewer.onset import refine_onset_s, refine_utterance_onsets
from voice_interviewer.stt import Transcriber
from voice_interviewer.utterances import Utterance, Word

# The mitigation clock's tolerance is 0.5 s end to end; the onset itself
# should land well inside it.
ONSET_TOLERANCE_S = 0.15

BACKGROUNDS = {
    "digital-silence": None,
    "white-55dB": ("white", -55.0),
    "pink-42dB": ("pink", -42.0),
    "hum-40dB": ("hum", -40.0),
    "clicks-35dB": ("clicks", -35.0),
    # Talk in the room: passes Silero too. Not held to the tolerance (see below).
    "babble-40dB": ("babble", -40.0),
}
BACKGROUND_TALK = {"babble-40dB"}
# Over background talk a word is found on its attack a little late: the
# upper end of the 0.1-0.2 s the issue asks of the onset.
BACKGROUND_TALK_TOLERANCE_S = 0.2


def clips():
    require(REAL_SPEECH_DIR.is_dir(), "real-speech corpus missing")
    require_program("espeak-ng")
    return {
        "piper": normalised(piper_clip("Let's roll back the auth service to version two point three one now.")),
        "piper-slow-h": normalised(piper_clip("How many users are seeing errors right now?", length_scale=1.3)),
        "espeak": normalised(espeak_clip("Turn off the new checkout feature flag right away.")),
        "lj-real": normalised(corpus_clip("LJ001-0004")),
    }


@pytest.fixture(scope="module")
def measured():
    """Whisper's and the refined onset error for every scene, printed as a table."""
    transcriber = Transcriber()
    before = normalised(piper_clip("Okay, give me a second to think about that."))
    rows = []
    for clip_name, clip in clips().items():
        for bg_name, background in BACKGROUNDS.items():
            layouts = {"after 4 s": [4.0, clip, 1.5], "6 s after speech": [0.5, before, 6.0, clip, 1.5]}
            for layout_name, parts in layouts.items():
                sc = scene(parts, background, seed=len(rows))
                truth_s = sc.onsets_s[-1]
                utterances = transcriber.transcribe(sc.audio)
                refined = refine_utterance_onsets(utterances, sc.audio, SAMPLE_RATE)
                # The utterance that Whisper starts nearest the placed clip.
                i = min(range(len(utterances)), key=lambda k: abs(utterances[k].onset_s - truth_s))
                rows.append((clip_name, bg_name, layout_name, truth_s, utterances[i].onset_s - truth_s,
                             refined[i].onset_s - truth_s))
    lines = [f"  {c:<13} {b:<16} {lay:<17} truth {t:6.2f} s   whisper {w:+.3f}   refined {r:+.3f}"
             for c, b, lay, t, w, r in rows]
    whisper = np.abs([r[4] for r in rows])
    refined = np.abs([r[5] for r in rows])
    print("\nonset error (s), Whisper alone against refined:\n" + "\n".join(lines)
          + f"\n  mean |error|: whisper {whisper.mean():.3f} s, refined {refined.mean():.3f} s;"
          f" largest: whisper {whisper.max():.3f} s, refined {refined.max():.3f} s")
    return rows


def test_refined_onsets_are_within_tolerance_of_truth(measured):
    bad = [r for r in measured if abs(r[5]) > ONSET_TOLERANCE_S and r[1] not in BACKGROUND_TALK]
    assert not bad, bad


def test_refinement_improves_on_whisper_overall(measured):
    assert np.mean(np.abs([r[5] for r in measured])) < np.mean(np.abs([r[4] for r in measured]))


def test_background_talk_mostly_within_tolerance_and_no_worse_than_whisper(measured):
    # Another voice 20 dB under the candidate's can still fool energy and VAD
    # alike now and then (a burst of it just before the first word), so here
    # the bar is the typical case and the average against Whisper's.
    rows = [r for r in measured if r[1] in BACKGROUND_TALK]
    assert np.median(np.abs([r[5] for r in rows])) <= BACKGROUND_TALK_TOLERANCE_S
    assert np.mean(np.abs([r[5] for r in rows])) <= np.mean(np.abs([r[4] for r in rows]))


def test_whisper_estimate_is_kept_when_speech_is_buried_in_noise():
    clip = normalised(corpus_clip("LJ001-0002"), rms_dbfs=-30.0)
    sc = scene([3.0, clip, 1.0], ("white", -30.0))  # 0 dB SNR: energy cannot tell
    guess_s = sc.onsets_s[0] - 0.3
    assert refine_onset_s(sc.audio, SAMPLE_RATE, guess_s) == guess_s


def test_a_click_just_before_the_word_is_not_the_onset():
    clip = normalised(piper_clip("Fail over to the other region."))
    sc = scene([3.0, clip, 1.0], ("white", -60.0))
    click_at = int((sc.onsets_s[0] - 0.35) * SAMPLE_RATE)
    rng = np.random.default_rng(7)
    click = rng.standard_normal(300) * 0.3 * np.exp(-np.arange(300) / 50)
    sc.audio[click_at:click_at + 300] += click.astype(np.float32)
    onset_s = refine_onset_s(sc.audio, SAMPLE_RATE, sc.onsets_s[0] - 0.3)
    assert abs(onset_s - sc.onsets_s[0]) <= ONSET_TOLERANCE_S


def test_onset_never_moves_into_the_previous_utterance():
    first = normalised(piper_clip("Check the deploys."))
    second = normalised(piper_clip("Roll it back."))
    sc = scene([1.0, first, 0.4, second, 1.0])
    previous_end_s = sc.speech_ends_s[0] - 0.1
    onset_s = refine_onset_s(sc.audio, SAMPLE_RATE, sc.onsets_s[1] - 0.3, not_before_s=previous_end_s)
    assert onset_s >= previous_end_s
    assert abs(onset_s - sc.onsets_s[1]) <= ONSET_TOLERANCE_S


def test_estimate_inside_running_speech_is_kept():
    clip = normalised(corpus_clip("LJ001-0001"))
    sc = scene([1.0, clip, 1.0])
    mid_s = sc.onsets_s[0] + 3.0  # Whisper's time for a word in the middle of a sentence
    assert abs(refine_onset_s(sc.audio, SAMPLE_RATE, mid_s, search_before_s=0.3) - mid_s) <= 0.3


def test_refine_utterance_onsets_keeps_whisper_time_and_words():
    clip = normalised(piper_clip("Drain traffic from us east one."))
    sc = scene([2.0, clip, 1.0], ("pink", -45.0))
    late_s = sc.onsets_s[0] + 0.25
    words = [Word(late_s, late_s + 0.3, "Drain"), Word(late_s + 0.3, late_s + 0.6, "traffic")]
    utt = Utterance(late_s, late_s + 0.6, "Drain traffic", words)
    (out,) = refine_utterance_onsets([utt], sc.audio, SAMPLE_RATE)
    assert abs(out.onset_s - sc.onsets_s[0]) <= ONSET_TOLERANCE_S
    assert out.start_s == out.onset_s and out.words[1] == words[1] and out.text == "Drain traffic"
    assert out.whisper_onset_s == late_s
    assert utt.words[0].start_s == late_s  # the input is not modified


def test_audio_start_offset_maps_clocks():
    clip = normalised(piper_clip("Page the database on-call."))
    sc = scene([2.0, clip, 1.0])
    offset_s = 600.0  # the audio is a slice starting 10 minutes into the session
    guess_s = offset_s + sc.onsets_s[0] - 0.3
    utt = Utterance(guess_s, guess_s + 1, "Page", [Word(guess_s, guess_s + 0.4, "Page")])
    (out,) = refine_utterance_onsets([utt], sc.audio, SAMPLE_RATE, audio_start_s=offset_s)
    assert abs(out.onset_s - (offset_s + sc.onsets_s[0])) <= ONSET_TOLERANCE_S


def test_silence_has_no_onset_to_move_to():
    silent = noise("white", 5.0, -80.0)
    assert refine_onset_s(silent, SAMPLE_RATE, 2.0) == 2.0


def test_refining_twice_keeps_whisper_time_and_other_attributes():
    clip = normalised(piper_clip("Freeze all deploys."))
    sc = scene([2.0, clip, 1.0])
    guess_s = sc.onsets_s[0] - 0.3
    utt = Utterance(guess_s, guess_s + 1, "Freeze", [Word(guess_s, guess_s + 0.4, "Freeze")])
    utt.speaker_name = "Sam"
    (once,) = refine_utterance_onsets([utt], sc.audio)
    (twice,) = refine_utterance_onsets([once], sc.audio)
    assert twice.whisper_onset_s == guess_s and twice.speaker_name == "Sam"
    assert twice.onset_s == pytest.approx(once.onset_s, abs=0.01)


def test_other_sample_rates_use_energy_alone():
    clip = normalised(piper_clip("Restart the auth pods."))
    sc = scene([2.0, clip, 1.0])
    audio_8k = sc.audio[::2]  # crude, but the onset survives decimation
    onset_s = refine_onset_s(audio_8k, 8000, sc.onsets_s[0] - 0.3)
    assert abs(onset_s - sc.onsets_s[0]) <= ONSET_TOLERANCE_S
