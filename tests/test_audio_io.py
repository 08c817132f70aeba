"""Decoding recordings of any format, rate and channel count; bad files as one-line errors."""

from __future__ import annotations

import struct
import subprocess
import sys
import wave

import numpy as np
import pytest

from conftest import REAL_SPEECH_DIR, require, require_program
from voice_interviewer.audio_io import SAMPLE_RATE, audio_duration_s, load_audio
from voice_interviewer.errors import UserError

CLIP = REAL_SPEECH_DIR / "LJ001-0002.wav"  # 1.90 s, 22.05 kHz mono, real speech

# ffmpeg arguments for each format a user may bring.
CONVERSIONS = {
    "flac": ("clip.flac", []),
    "ogg-opus": ("clip.ogg", ["-c:a", "libopus", "-b:a", "24k"]),
    "ogg-vorbis": ("clip.oga", ["-c:a", "libvorbis"]),
    "mp3": ("clip.mp3", ["-b:a", "64k"]),
    "m4a": ("clip.m4a", ["-c:a", "aac", "-b:a", "64k"]),
    "wav-8k": ("clip-8k.wav", ["-ar", "8000"]),
    "wav-44k-stereo": ("clip-44k.wav", ["-ar", "44100", "-ac", "2"]),
    "wav-48k-float": ("clip-48k-f32.wav", ["-ar", "48000", "-c:a", "pcm_f32le"]),
    "wav-24bit": ("clip-24.wav", ["-c:a", "pcm_s24le"]),
}


def convert(src, dst, extra):
    ffmpeg = require_program("ffmpeg")
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-i", str(src), *extra, str(dst)], check=True)
    return dst


def reference():
    require(CLIP.is_file(), f"real-speech corpus not found at {CLIP}")
    return load_audio(CLIP)


def correlation(a, b):
    n = min(a.size, b.size)
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


@pytest.mark.parametrize("fmt", sorted(CONVERSIONS))
def test_every_format_decodes_to_16k_mono_float32(tmp_path, fmt):
    ref = reference()
    name, extra = CONVERSIONS[fmt]
    audio = load_audio(convert(CLIP, tmp_path / name, extra))
    assert audio.dtype == np.float32 and audio.ndim == 1
    # Same length to within codec padding (AAC and Opus add tens of ms).
    assert abs(audio.size / SAMPLE_RATE - ref.size / SAMPLE_RATE) < 0.08
    assert np.abs(audio).max() <= 1.0
    if fmt in ("flac", "wav-44k-stereo", "wav-48k-float", "wav-24bit"):
        # Lossless (or resampled twice): the waveform itself survives.
        assert correlation(audio, ref) > 0.98
    duration_s = audio_duration_s(tmp_path / name)
    assert duration_s == pytest.approx(ref.size / SAMPLE_RATE, abs=0.08)


def test_stereo_is_averaged_not_one_channel(tmp_path):
    # Left: a 440 Hz tone, right: silence. Averaging halves the amplitude.
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    left = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2), w.setsampwidth(2), w.setframerate(SAMPLE_RATE)
        w.writeframes(stereo.tobytes())
    audio = load_audio(path)
    assert audio.size == SAMPLE_RATE
    assert np.abs(audio[1000:-1000]).max() == pytest.approx(0.25, abs=0.01)


def test_resampling_keeps_a_tone_and_removes_what_16k_cannot_carry(tmp_path):
    # 1 kHz survives 48 kHz -> 16 kHz; 12 kHz (above the 8 kHz Nyquist) must not
    # fold back into the band as it would with naive sample dropping.
    rate = 48_000
    t = np.arange(rate) / rate
    for freq, expect_rms in ((1000, 0.5 / np.sqrt(2)), (12_000, 0.0)):
        path = tmp_path / f"tone{freq}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
            w.writeframes((0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2").tobytes())
        audio = load_audio(path)[800:-800]
        rms = float(np.sqrt(np.mean(np.square(audio))))
        assert rms == pytest.approx(expect_rms, abs=0.02), freq


# ------------------------------------------------------------ killed recorders


def pcm_wav_bytes(samples_int16, rate=SAMPLE_RATE, stated_data_bytes=None):
    data = np.asarray(samples_int16, dtype="<i2").tobytes()
    size = len(data) if stated_data_bytes is None else stated_data_bytes
    return (b"RIFF" + struct.pack("<I", 36 + size) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", size) + data)


@pytest.mark.parametrize("stated", [0, 16_000, 10**9], ids=["header-never-refreshed", "stale-size", "size-past-eof"])
def test_a_killed_recorders_wav_is_read_to_its_last_sample(tmp_path, stated):
    samples = (np.sin(np.arange(48_000) / 10) * 8000).astype("<i2")  # 3 s
    path = tmp_path / "candidate.wav"
    path.write_bytes(pcm_wav_bytes(samples, stated_data_bytes=stated) + b"\x12")  # and half a sample
    audio = load_audio(path)
    assert audio.size == samples.size
    assert audio_duration_s(path) == pytest.approx(3.0)


def test_a_wav_cut_mid_file_keeps_what_is_there(tmp_path):
    ref = reference()
    full = tmp_path / "full.wav"
    convert(CLIP, full, ["-ar", "16000"])
    raw = full.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(raw[: len(raw) // 2])
    audio = load_audio(cut)
    assert audio.size / SAMPLE_RATE == pytest.approx(ref.size / SAMPLE_RATE / 2, abs=0.05)
    assert correlation(audio, ref) > 0.98


def test_chunks_after_the_data_are_not_read_as_samples(tmp_path):
    samples = np.full(1600, 1000, dtype="<i2")
    raw = pcm_wav_bytes(samples) + b"LIST" + struct.pack("<I", 4) + b"INFO"
    path = tmp_path / "tagged.wav"
    path.write_bytes(raw[:4] + struct.pack("<I", len(raw) - 8) + raw[8:])
    audio = load_audio(path)
    assert audio.size == 1600
    assert np.allclose(audio, 1000 / 32768, atol=1e-4)


# ------------------------------------------------------------------ bad input


def bad_inputs(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("meeting notes: roll back first\n", encoding="utf-8")
    (tmp_path / "header.wav").write_bytes(pcm_wav_bytes([])[:30])
    (tmp_path / "header-only.wav").write_bytes(pcm_wav_bytes([]))
    (tmp_path / "noise.ogg").write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    (tmp_path / "adir.wav").mkdir()
    return {
        "missing.wav": "no such file",
        "adir.wav": "is a directory",
        "empty.wav": "empty file",
        "notes.wav": "not an audio file",
        "header.wav": "truncated WAV",
        "header-only.wav": "contains no audio samples",
        "noise.ogg": "cannot decode audio",
    }


def test_bad_files_raise_one_line_user_errors(tmp_path):
    for name, message in bad_inputs(tmp_path).items():
        with pytest.raises(UserError) as info:
            load_audio(tmp_path / name)
        text = str(info.value)
        assert message in text and str(tmp_path / name) in text, (name, text)
        assert "\n" not in text


def test_cli_bad_files_exit_1_with_one_line_and_no_traceback(tmp_path):
    for name, message in bad_inputs(tmp_path).items():
        result = subprocess.run([sys.executable, "-m", "voice_interviewer", "transcribe", str(tmp_path / name)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 1, (name, result.stderr)
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (name, result.stderr)
        assert result.stdout == ""
