"""The audio interface without a sound server: resampling, files, the virtual pair, the CLI's errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO_ROOT
from voice_interviewer.live.devices import (FRAME_SAMPLES, PLAYED_FRAME_SAMPLES, PORTAUDIO_HINT, SAMPLE_RATE,
                                            AudioInput, AudioOutput, FileInput, FileOutput, NullOutput,
                                            StreamResampler, VirtualDevicePair, _Playback, resample)


def tone(freq_hz: float, seconds: float, rate: int = SAMPLE_RATE, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


@pytest.mark.parametrize("from_rate, to_rate", [(44100, 16000), (48000, 16000), (22050, 16000),
                                                (16000, 44100), (16000, 16000), (8000, 16000)])
def test_stream_resampler_matches_whole_buffer_resampling(from_rate, to_rate):
    rng = np.random.default_rng(from_rate)
    x = rng.normal(0, 0.3, from_rate).astype(np.float32)
    resampler = StreamResampler(from_rate, to_rate)
    pieces, i = [], 0
    while i < x.size:
        n = int(rng.integers(1, 1200))
        pieces.append(resampler.process(x[i:i + n]))
        i += n
    pieces.append(resampler.flush())
    streamed = np.concatenate(pieces)
    whole = resample(x, from_rate, to_rate)
    assert streamed.size == whole.size
    np.testing.assert_allclose(streamed, whole, atol=1e-5)


def test_implementations_satisfy_the_protocols(tmp_path):
    pair = VirtualDevicePair()
    assert isinstance(pair.input, AudioInput)
    assert isinstance(pair.output, AudioOutput)
    assert isinstance(FileInput(np.zeros(100, np.float32)), AudioInput)
    assert isinstance(NullOutput(), AudioOutput)
    assert isinstance(FileOutput(tmp_path / "x.wav"), AudioOutput)


def test_file_input_returns_the_recording_in_512_sample_frames(tmp_path):
    import soundfile

    audio = tone(440, 1.0, rate=44100)
    path = tmp_path / "mic.wav"
    soundfile.write(path, audio, 44100, subtype="FLOAT")
    mic = FileInput(path, tail_silence_s=0.5)
    mic.start()
    frames = []
    while (frame := mic.read(timeout_s=0.1)) is not None:
        assert frame.shape == (FRAME_SAMPLES,) and frame.dtype == np.float32
        frames.append(frame)
    assert mic.exhausted
    got = np.concatenate(frames)
    expected = resample(audio, 44100, SAMPLE_RATE)
    assert got.size >= expected.size + 0.5 * SAMPLE_RATE - FRAME_SAMPLES
    np.testing.assert_allclose(got[:expected.size], expected, atol=1e-5)
    assert np.all(got[expected.size + 1:] == 0)


def test_file_input_in_real_time_returns_none_when_the_next_frame_is_not_due():
    mic = FileInput(tone(440, 1.0), realtime=True)
    mic.start()
    assert mic.read(timeout_s=0.0) is None  # the first frame is due 32 ms after start
    assert mic.read(timeout_s=1.0) is not None


def test_missing_file_is_a_user_error(tmp_path):
    from voice_interviewer.errors import UserError

    with pytest.raises(UserError, match="no such audio file"):
        FileInput(tmp_path / "nope.wav")


def drain(q):
    items = []
    while not q.empty():
        items.append(q.get_nowait())
    return items


def test_virtual_pair_plays_a_line_and_reports_position():
    pair = VirtualDevicePair()
    played = pair.output.subscribe()
    line = tone(300, 1.0)
    pair.input.start()
    line_id = pair.output.play(line, SAMPLE_RATE)
    assert pair.output.is_playing and pair.output.playback_position_s == 0.0
    for _ in range(10):
        pair.input.read()
    assert pair.output.playback_position_s == pytest.approx(10 * FRAME_SAMPLES / SAMPLE_RATE)
    while pair.output.is_playing:
        pair.input.read()
    assert pair.output.playback_position_s == pytest.approx(1.0)
    recorded = pair.output.recorded()
    np.testing.assert_allclose(recorded[:line.size], line, atol=1e-6)
    frames = drain(played)
    assert all(f.samples_float32.shape == (PLAYED_FRAME_SAMPLES,) for f in frames)
    assert {f.line_id for f in frames[:90]} == {line_id}
    np.testing.assert_allclose(np.concatenate([f.samples_float32 for f in frames])[:line.size], line, atol=1e-6)


def test_stop_playback_cuts_the_line_and_returns_what_was_heard():
    pair = VirtualDevicePair()
    pair.input.start()
    pair.output.play(tone(300, 3.0), SAMPLE_RATE)
    for _ in range(20):
        pair.input.read()
    heard = pair.output.stop_playback()
    assert heard == 20 * FRAME_SAMPLES
    assert not pair.output.is_playing
    for _ in range(20):
        pair.input.read()
    after = pair.output.recorded()[heard:]
    fade = int(0.005 * SAMPLE_RATE)
    assert np.all(after[fade:] == 0)  # silent within the 5 ms fade
    assert np.max(np.abs(after[:fade])) <= 0.5


def test_lines_are_numbered_and_sentences_extend_a_line():
    pair = VirtualDevicePair()
    pair.input.start()
    first = pair.output.play(tone(300, 0.2), SAMPLE_RATE, new_line=True)
    same = pair.output.play(tone(400, 0.2), SAMPLE_RATE, new_line=False)
    assert same == first
    while pair.output.is_playing:
        pair.input.read()
    assert pair.output.playback_position_s == pytest.approx(0.4)
    second = pair.output.play(tone(300, 0.2), SAMPLE_RATE)  # idle: a new line
    assert second == first + 1
    assert pair.output.playback_position_s == 0.0
    pair.output.stop_playback()
    third = pair.output.play(tone(300, 0.2), SAMPLE_RATE)  # after a stop: a new line
    assert third == second + 1


def test_play_resamples_any_rate():
    pair = VirtualDevicePair()
    pair.input.start()
    pair.output.play(tone(300, 0.5, rate=22050), 22050)
    while pair.output.is_playing:
        pair.input.read()
    assert pair.output.playback_position_s == pytest.approx(0.5, abs=1e-3)


def test_virtual_mic_hears_the_fed_candidate_at_its_time():
    pair = VirtualDevicePair()
    speech = tone(200, 0.5)
    end_s = pair.feed(speech, at_s=1.0)
    assert end_s == pytest.approx(1.5)
    frames = [pair.input.read() for _ in range(60)]
    mic = np.concatenate(frames)
    start = SAMPLE_RATE
    np.testing.assert_allclose(mic[start:start + speech.size], speech, atol=1e-6)
    assert np.all(mic[:start] == 0)


def test_echo_leaks_the_speakers_into_the_mic_at_gain_and_delay():
    pair = VirtualDevicePair(echo_gain_db=-12.0, echo_delay_ms=60.0)
    pair.input.start()
    line = tone(500, 0.5)
    pair.output.play(line, SAMPLE_RATE)
    mic = np.concatenate([pair.input.read() for _ in range(40)])
    delay = int(0.060 * SAMPLE_RATE)
    gain = 10 ** (-12 / 20)
    np.testing.assert_allclose(mic[delay:delay + line.size], gain * line, atol=1e-5)
    assert np.all(mic[:delay] == 0)


def test_virtual_mic_ends_at_duration_and_on_close():
    pair = VirtualDevicePair(duration_s=1.0)
    n = 0
    while pair.input.read() is not None:
        n += 1
    assert pair.input.exhausted and n == int(np.ceil(SAMPLE_RATE / FRAME_SAMPLES))
    other = VirtualDevicePair()
    other.input.read()
    other.close()
    assert other.input.read() is None and other.input.exhausted


def test_played_frames_line_up_with_the_line_at_a_native_rate():
    clock = [0.0]
    pb = _Playback(48000, clock=lambda: clock[0])
    q = pb.subscribe(1000)
    line = tone(300, 0.5)
    pb.play(line, SAMPLE_RATE, new_line=True)
    for _ in range(60):
        pb.render(480)
        clock[0] += 0.01
    frames = drain(q)
    got = np.concatenate([f.samples_float32 for f in frames])
    assert got.size == 60 * 160
    # the 16 kHz copy of each line is what subscribers get, whatever the device's rate
    np.testing.assert_allclose(got[:line.size], line, atol=1e-6)
    assert np.all(got[line.size:] == 0)


def test_null_output_plays_in_real_time_and_file_output_writes_it(tmp_path):
    import soundfile

    path = tmp_path / "interviewer.wav"
    out = FileOutput(path)
    out.start()
    out.play(tone(300, 0.2), SAMPLE_RATE)
    deadline = time.monotonic() + 5.0
    while out.is_playing and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not out.is_playing
    out.stop()
    data, rate = soundfile.read(path, dtype="float32")
    assert rate == SAMPLE_RATE and data.size >= 0.2 * SAMPLE_RATE
    assert np.max(np.abs(data)) == pytest.approx(0.5, abs=0.01)


def run_cli(*args, env_extra=None, pythonpath=None):
    env = {**os.environ, **(env_extra or {})}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "voice_interviewer", *args], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=60)


def test_devices_without_portaudio_is_one_line(tmp_path):
    # what sounddevice itself raises when libportaudio2 is not installed
    (tmp_path / "sounddevice.py").write_text('raise OSError("PortAudio library not found")\n')
    result = run_cli("devices", pythonpath=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"voice-interviewer: {PORTAUDIO_HINT}"


def test_devices_with_no_sound_devices_is_one_line(tmp_path):
    if os.path.isdir("/dev/snd"):
        pytest.skip("this machine has sound cards; PortAudio would list them")
    # no card, and no sound server at the address ALSA's pulse plugin will try
    result = run_cli("devices", env_extra={"PULSE_SERVER": f"unix:{tmp_path}/none"})
    assert result.returncode == 1, result.stdout
    assert result.stderr.strip() == "voice-interviewer: no audio devices found (PortAudio sees none)"
