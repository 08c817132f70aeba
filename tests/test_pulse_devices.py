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


def best_match(recorded: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(peak normalised correlation, lag in seconds) of ``reference`` inside ``recorded``, both 16 kHz."""
    from scipy.signal import correlate

    if recorded.size < reference.size:
        return 0.0, 0.0
    corr = correlate(recorded, reference, mode="valid", method="fft")
    energy = np.sqrt(np.convolve(recorded ** 2, np.ones(reference.size), mode="valid"))
    norm = corr / (energy * np.linalg.norm(reference) + 1e-12)
    lag = int(np.argmax(norm))
    return float(norm[lag]), lag / SAMPLE_RATE


def test_portaudio_sees_the_pulse_devices(pulse_server):
    from voice_interviewer.live.devices import list_devices

    devices, default_in, default_out = list_devices()
    names = [d["name"] for d in devices]
    print("\nPortAudio devices:", names, "default in/out:", default_in, default_out)
    assert "pulse" in names or "default" in names
    assert default_in is not None and default_out is not None


def test_output_plays_into_the_virtual_speakers(pulse_server, speech_16k, tmp_path):
    spk = SoundDeviceOutput(device="pulse")
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
    score, lag_s = best_match(recorded, speech_16k)
    print(f"\nspeakers: native {spk.sample_rate_native} Hz, reported latency {spk.latency_s * 1000:.0f} ms, "
          f"correlation {score:.3f}, underflows {spk.underflows}")
    assert line == 1
    assert score > 0.9
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
    score, lag_s = best_match(recorded, speech_16k)
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
