"""SoundDeviceInput / SoundDeviceOutput against a real sound server (PulseAudio null sinks).

Speech goes out through SoundDeviceOutput into the virtual speakers and is
recorded from their monitor with parec; speech played into the virtual mic
with pacat comes back through SoundDeviceInput. Both are compared with the
original by normalised cross-correlation, which also measures the delay.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from conftest import REAL_SPEECH_DIR, require
from pulse import PULSE_RATE, pulse_server, read_raw  # noqa: F401  (pulse_server is a fixture)
from voice_interviewer.errors import UserError
from voice_interviewer.live.devices import (FRAME_SAMPLES, SAMPLE_RATE, AudioDeviceError, SoundDeviceInput,
                                            SoundDeviceOutput, load_audio_16k, resample)

pytestmark = pytest.mark.pulse


@pytest.fixture(scope="module")
def speech_16k() -> np.ndarray:
    path = REAL_SPEECH_DIR / "LJ001-0002.wav"
    require(path.is_file(), f"real speech corpus missing: {path}")
    return load_audio_16k(path)


def best_match(recorded: np.ndarray, reference: np.ndarray) -> float:
    """Peak normalised correlation of ``reference`` inside ``recorded``, both 16 kHz."""
    from scipy.signal import correlate

    if recorded.size < reference.size:
        return 0.0
    corr = correlate(recorded, reference, mode="valid", method="fft")
    energy = np.sqrt(np.maximum(np.convolve(recorded ** 2, np.ones(reference.size), mode="valid"), 0.0))
    ref_norm = np.linalg.norm(reference)
    # a floor on the window's energy: FFT round-off over silence must not look like a match
    norm = corr / (np.maximum(energy, 0.05 * ref_norm) * ref_norm)
    return float(norm.max())


def chunk_match(recorded: np.ndarray, reference: np.ndarray, chunk_s: float = 0.25) -> float:
    """Median best_match of the reference's voiced 0.25 s chunks.

    A scheduling hiccup of the feeding process on a loaded machine can put a
    gap into the audio; chunks still match one by one where a whole-clip
    correlation would drop, while noise or wrong audio matches no chunk.
    """
    n = int(chunk_s * SAMPLE_RATE)
    chunks = [reference[i:i + n] for i in range(0, reference.size - n + 1, n)]
    voiced = [c for c in chunks if np.sqrt(np.mean(c ** 2)) > 0.01]
    return float(np.median([best_match(recorded, c) for c in voiced]))


def test_portaudio_sees_the_pulse_devices(pulse_server):
    from voice_interviewer.live.devices import list_devices

    devices, default_in, default_out = list_devices()
    names = [d["name"] for d in devices]
    print("\nPortAudio devices:", names, "default in/out:", default_in, default_out)
    assert "pulse" in names or "default" in names
    assert default_in is not None and default_out is not None


def test_output_plays_into_the_virtual_speakers(pulse_server, speech_16k, tmp_path):
    spk = SoundDeviceOutput(device="pulse")
    played = spk.subscribe()  # before start(), as the practice loop and the echo canceller do
    spk.start()
    raw_path = tmp_path / "speakers.f32"
    recorder = pulse_server.record_speakers(raw_path)
    try:
        time.sleep(0.5)  # let parec connect before the first sample
        line = spk.play(speech_16k, SAMPLE_RATE, new_line=True)
        while spk.is_playing:
            time.sleep(0.02)
        heard_s = spk.playback_position_s
        time.sleep(0.5)
    finally:
        pulse_server.stop_recording(recorder)
        spk.stop()
    recorded = resample(read_raw(raw_path), PULSE_RATE, SAMPLE_RATE)
    score = best_match(recorded, speech_16k)
    print(f"\nspeakers: native {spk.sample_rate_native} Hz, reported latency {spk.latency_s * 1000:.0f} ms, "
          f"correlation {score:.3f}, underflows {spk.underflows}")
    assert line == 1
    assert score > 0.9
    frames = []
    while not played.empty():
        frames.append(played.get_nowait())
    echo_reference = np.concatenate([f.samples_float32 for f in frames if f.line_id == line])
    assert best_match(echo_reference, speech_16k) > 0.99  # the 16 kHz copy the echo canceller gets
    assert heard_s == pytest.approx(speech_16k.size / SAMPLE_RATE, abs=0.02)


def test_barge_in_stops_the_virtual_speakers(pulse_server, speech_16k, tmp_path):
    spk = SoundDeviceOutput(device="pulse")
    spk.start()
    raw_path = tmp_path / "speakers.f32"
    recorder = pulse_server.record_speakers(raw_path)
    try:
        time.sleep(0.5)
        spk.play(np.concatenate([speech_16k, speech_16k]), SAMPLE_RATE, new_line=True)
        time.sleep(1.0)
        heard = spk.stop_playback()
        assert not spk.is_playing
        time.sleep(1.0)
    finally:
        pulse_server.stop_recording(recorder)
        spk.stop()
    recorded = resample(read_raw(raw_path), PULSE_RATE, SAMPLE_RATE)
    active = np.flatnonzero(np.abs(recorded) > 0.01)
    sounded_s = (active[-1] - active[0]) / SAMPLE_RATE
    print(f"\nbarge-in: stop_playback said {heard / SAMPLE_RATE:.3f} s heard; the monitor recorded "
          f"{sounded_s:.3f} s of sound")
    # what reached the speakers is what stop_playback() reported, give or take a block and the fade
    assert abs(sounded_s - heard / SAMPLE_RATE) < 0.15
    assert sounded_s < 1.5


def test_input_captures_the_virtual_mic(pulse_server, speech_16k):
    mic = SoundDeviceInput(device="pulse")
    mic.start()
    frames = []
    try:
        for _ in range(10):  # settle, then play
            mic.read(timeout_s=1.0)
        feeder = pulse_server.play_into_mic(speech_16k, SAMPLE_RATE)
        deadline = time.monotonic() + speech_16k.size / SAMPLE_RATE + 2.0
        while time.monotonic() < deadline:
            frame = mic.read(timeout_s=0.5)
            if frame is not None:
                assert frame.shape == (FRAME_SAMPLES,) and frame.dtype == np.float32
                frames.append(frame)
        feeder.wait(timeout=10)
    finally:
        mic.stop()
    recorded = np.concatenate(frames)
    score = chunk_match(recorded, speech_16k)
    print(f"\nmic: native {mic.sample_rate_native} Hz, reported latency {mic.latency_s * 1000:.0f} ms, "
          f"correlation {score:.3f}, overflows {mic.overflows}")
    assert score > 0.9


@pytest.mark.parametrize("cls, kind", [(SoundDeviceInput, "input"), (SoundDeviceOutput, "output")])
def test_a_nonexistent_device_is_one_clear_line(pulse_server, cls, kind):
    device = cls(device="no-such-device-xyz")
    with pytest.raises(AudioDeviceError) as info:
        device.start()
    message = str(info.value)
    assert isinstance(info.value, UserError)
    assert "\n" not in message and "no-such-device-xyz" in message and kind in message


def test_a_device_index_out_of_range_is_one_clear_line(pulse_server):
    with pytest.raises(AudioDeviceError, match="index 999"):
        SoundDeviceInput(device="999").start()


def test_devices_command_lists_the_pulse_devices(pulse_server):
    import os
    import subprocess
    import sys

    from conftest import REPO_ROOT

    result = subprocess.run([sys.executable, "-m", "voice_interviewer", "devices"], capture_output=True,
                            text=True, cwd=REPO_ROOT, timeout=60, env={**os.environ})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("inputs:") and "outputs:" in result.stdout
    assert "pulse" in result.stdout and "*" in result.stdout


def test_a_device_that_disappears_mid_session_is_a_clear_error(pulse_server, tmp_path, monkeypatch):
    """The sound server dying under open streams stands in for a USB headset being unplugged."""
    import pulse

    doomed = pulse._start(tmp_path)
    monkeypatch.setenv("PULSE_SERVER", doomed.server)  # ALSA's pulse plugin reads it when a stream opens
    mic, spk = SoundDeviceInput(device="pulse"), SoundDeviceOutput(device="pulse")
    try:
        mic.start()
        spk.start()
        # no latency anchors on this server: its null sink may deliver the first block after 2 s
        assert mic.read(timeout_s=5.0) is not None
        spk.play(np.zeros(5 * SAMPLE_RATE, np.float32), SAMPLE_RATE)
        pulse._stop(doomed)
        with pytest.raises(AudioDeviceError, match="audio input failed") as info:
            for _ in range(100):
                mic.read(timeout_s=0.5)
        assert "\n" not in str(info.value)
        with pytest.raises(AudioDeviceError, match="audio output failed"):
            for _ in range(100):
                spk.play(np.zeros(160, np.float32), SAMPLE_RATE)
                time.sleep(0.05)
    finally:
        mic.stop()
        spk.stop()
        pulse._stop(doomed)


def test_echo_cancelling_on_real_devices(pulse_server, speech_16k):
    """The whole audio path: Piper out of SoundDeviceOutput, leaking back into the mic at -12 dB
    through a PulseAudio loopback, cleaned by EchoCancelledInput over SoundDeviceInput; then the
    candidate talks over the interviewer and must still be heard."""
    import test_aec as measure

    from voice_interviewer.live.aec import EchoCancelledInput
    from voice_interviewer.live.tts import Synthesizer

    synth = Synthesizer(noise_scale=0.0, noise_w_scale=0.0)
    lines = [resample(synth.synthesize(text), synth.sample_rate, SAMPLE_RATE) for text in measure.INTERVIEWER_LINES]
    module = pulse_server.leak_speakers_into_mic(measure.ECHO_GAIN_DB, latency_ms=60)
    spk = SoundDeviceOutput(device="pulse")
    raw_mic = SoundDeviceInput(device="pulse")
    mic = EchoCancelledInput(raw_mic, spk)
    raw, clean = [], []

    def read_one():
        frame = mic.read(timeout_s=2.0)
        assert frame is not None, "the mic stopped delivering frames"
        clean.append(frame)
        raw.append(mic.last_raw)

    try:
        spk.start()
        mic.start()
        for _ in range(30):
            read_one()
        candidate_at_frame = None
        for i, line in enumerate(lines):
            spk.play(line, SAMPLE_RATE, new_line=True)
            started = len(clean)
            while spk.is_playing:
                read_one()
                if i == len(lines) - 1 and candidate_at_frame is None and len(clean) - started > 40:
                    candidate_at_frame = len(clean)
                    feeder = pulse_server.play_into_mic(speech_16k, SAMPLE_RATE)
            for _ in range(30):
                read_one()
        feeder.wait(timeout=10)
    finally:
        mic.stop()
        spk.stop()
        pulse_server.pactl("unload-module", module)
    raw, clean = np.concatenate(raw), np.concatenate(clean)

    # where the candidate landed in the mic stream: cross-correlate (the echo does not correlate with it)
    from scipy.signal import correlate

    search_from = candidate_at_frame * FRAME_SAMPLES
    lag = int(np.argmax(correlate(raw[search_from:], speech_16k, mode="valid", method="fft")))
    onset = search_from + lag
    echo_only = np.ones(raw.size, dtype=bool)
    echo_only[onset - SAMPLE_RATE // 2:onset + speech_16k.size + SAMPLE_RATE // 2] = False
    echo_only[:int(measure.CONVERGE_S * SAMPLE_RATE)] = False
    erle_db = measure.energy_db(raw[echo_only]) - measure.energy_db(clean[echo_only])

    vad = measure.StreamingVad()
    onsets_s = measure.barge_in_onsets_s(measure.speech_probs(vad, clean))
    onset_s, end_s = onset / SAMPLE_RATE, (onset + speech_16k.size) / SAMPLE_RATE
    during = [t - onset_s for t in onsets_s if onset_s <= t <= end_s]
    outside = [t for t in onsets_s if not onset_s - 0.5 <= t <= end_s + 0.5]
    # The canceller learns the echo path in the first seconds; a false
    # barge-in there is reported apart (the loop should not let the first
    # seconds of the briefing be cut by their own echo) and the bar applies after.
    converging = [t for t in outside if t < measure.CONVERGE_S + 1.0]
    outside = [t for t in outside if t >= measure.CONVERGE_S + 1.0]
    raw_false = [t for t in measure.barge_in_onsets_s(measure.speech_probs(vad, raw))
                 if not onset_s - 0.5 <= t <= end_s + 0.5]
    minutes = np.count_nonzero(echo_only) / SAMPLE_RATE / 60
    print(f"\nreal devices, echo {measure.ECHO_GAIN_DB:.0f} dB via loopback; latencies in "
          f"{raw_mic.latency_s * 1000:.0f} ms / out {spk.latency_s * 1000:.0f} ms, delay hint "
          f"{mic.canceller.stream_delay_ms} ms: ERLE {erle_db:.1f} dB; false barge-ins without AEC "
          f"{len(raw_false) / minutes:.1f}/min, with AEC {len(outside) / minutes:.2f}/min after convergence "
          f"(+{len(converging)} while converging); candidate barge-in "
          f"{'missed' if not during else f'after {during[0] * 1000:.0f} ms'}; overflows {raw_mic.overflows}, "
          f"underflows {spk.underflows}")

    assert raw_false, "the leak should trigger barge-ins without cancelling, or the test proves nothing"
    assert erle_db >= measure.MIN_ERLE_DB
    assert len(outside) / minutes <= measure.MAX_FALSE_BARGE_INS_PER_MIN
    assert during, "the candidate talking over the interviewer must still be heard"
