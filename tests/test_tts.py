"""Piper with the bundled voice: synthesis, trimming, streaming, the precompute cache."""

from __future__ import annotations

import numpy as np
import pytest

from voice_interviewer.errors import UserError
from voice_interviewer.live.tts import LEAD_KEEP_S, SILENCE_LEVEL, Synthesizer, split_sentences, trim_silence


@pytest.fixture(scope="module")
def synth():
    return Synthesizer()


def test_synthesize_returns_speech_at_the_voice_rate_without_leading_silence(synth):
    audio = synth.synthesize("The checkout service is returning 500s.")
    assert synth.sample_rate == 22050
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert 1.0 < audio.size / synth.sample_rate < 5.0
    first_voiced = np.flatnonzero(np.abs(audio) > SILENCE_LEVEL)[0]
    assert first_voiced <= LEAD_KEEP_S * synth.sample_rate + 1


def test_a_cached_line_is_not_synthesised_again(synth):
    first = synth.synthesize("Error rates doubled at 1:40 am.")
    spent = synth.synth_seconds
    again = synth.synthesize("error rates  doubled at 1:40 AM.")  # same spoken text, same key
    assert again is first
    assert synth.synth_seconds == spent


def test_stream_yields_one_clip_per_sentence(synth):
    clips = list(synth.stream(["What changed? The deploy of v2.3.1 went out.", "Anything else?"]))
    assert len(clips) == 3
    assert all(c.size > 0.3 * synth.sample_rate for c in clips)


def test_precompute_in_the_background_fills_the_cache(synth):
    lines = ["Customer support is getting tickets from Europe.", "The database CPU is at 40%. What next?"]
    synth.precompute(lines)
    assert synth.wait_precomputed(timeout_s=120)
    for sentence in [s for line in lines for s in split_sentences(line)]:
        assert synth.is_cached(sentence)


def test_disk_cache_serves_a_new_synthesizer_without_piper(tmp_path):
    a = Synthesizer(cache_dir=tmp_path)
    clip = a.synthesize("Roll back the deploy.")
    b = Synthesizer(cache_dir=tmp_path)
    again = b.synthesize("Roll back the deploy.")
    np.testing.assert_array_equal(clip, again)
    assert b.synth_seconds == 0.0


@pytest.mark.parametrize("text, sentences", [
    ("Checkout is at v2.3.1. Error rate is 12%!", ["Checkout is at v2.3.1.", "Error rate is 12%!"]),
    ("Latency is 1.5 s. What now?", ["Latency is 1.5 s.", "What now?"]),
    ("Use a flag, e.g. the kill switch.", ["Use a flag, e.g. the kill switch."]),
    ("  ", []),
])
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


def test_trim_keeps_a_short_lead_and_caps_the_tail():
    rate = 1000
    audio = np.concatenate([np.zeros(500), np.full(100, 0.5), np.zeros(900)]).astype(np.float32)
    trimmed = trim_silence(audio, rate)
    assert trimmed.size == 10 + 100 + 120


def test_missing_voice_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="Piper voice not found"):
        Synthesizer(tmp_path / "nope.onnx")


def test_exit_during_a_background_precompute_is_a_clean_exit():
    """A daemon thread killed inside onnxruntime used to abort the process (exit 134)."""
    import subprocess
    import sys

    code = ("from voice_interviewer.live.tts import Synthesizer\n"
            "s = Synthesizer()\n"
            "s.precompute([f'Line number {i} of the briefing is being read now.' for i in range(40)])\n"
            "import time; time.sleep(1.0)\n"
            "raise SystemExit(3)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr[-500:]
    assert "terminate called" not in result.stderr


def test_close_stops_the_precompute(synth):
    lines = [f"Status update number {i} for the incident channel." for i in range(30)]
    synth.precompute(lines)
    synth.close()
    assert synth.wait_precomputed(timeout_s=0)
    assert not all(synth.is_cached(line) for line in lines)
