"""Real rendered speech placed at known times in silence or noise, for STT and onset tests.

A scene is built from clean clips (the bundled Piper voice, espeak-ng, the
LJ Speech clips of the real-speech corpus) whose own onset is unambiguous:
the first 5 ms frame of the clean clip within 40 dB of its loudest frame.
Noise is added over the whole scene afterwards, so the truth is the same
under any noise.
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from conftest import REAL_SPEECH_DIR
from voice_interviewer.audio_io import SAMPLE_RATE, load_audio

# How far below the clean clip's loudest frame its onset is taken to be.
TRUTH_BELOW_PEAK_DB = 40.0


@functools.lru_cache(maxsize=1)
def _piper_voice():
    from piper import PiperVoice

    from voice_interviewer.models import piper_voice_paths

    model, config = piper_voice_paths(None)
    return PiperVoice.load(str(model), config_path=str(config))


def _to_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    # Through the product's own decoder, so clips are resampled as users' files are.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.wav"
        sf.write(path, samples, sample_rate, subtype="PCM_16")
        return load_audio(path)


@functools.lru_cache(maxsize=32)
def piper_clip(text: str, length_scale: float = 1.0) -> np.ndarray:
    from piper.config import SynthesisConfig

    voice = _piper_voice()
    # No sampling noise: Piper otherwise renders a slightly different take on
    # every run, and a test should hear the same audio each time.
    config = SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
    chunks = voice.synthesize(text, syn_config=config)
    samples = np.concatenate([c.audio_float_array for c in chunks])
    return _to_16k(samples, voice.config.sample_rate)


@functools.lru_cache(maxsize=32)
def espeak_clip(text: str, voice: str = "en-us", words_per_minute: int = 160) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "espeak.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(path), text],
                       check=True, capture_output=True)
        return load_audio(path)


@functools.lru_cache(maxsize=16)
def corpus_clip(name: str) -> np.ndarray:
    path = next(REAL_SPEECH_DIR.glob(f"{name}.*[!t]"))  # the audio, not NAME.txt
    return load_audio(path)


def clip_onset_s(clip: np.ndarray) -> float:
    """Where speech starts in a clean clip."""
    from voice_interviewer.onset import frame_energy_db

    energy_db, times_s = frame_energy_db(clip, SAMPLE_RATE, 0.005, 0.005)
    first = int(np.flatnonzero(energy_db >= energy_db.max() - TRUTH_BELOW_PEAK_DB)[0])
    return float(times_s[first])


def normalised(clip: np.ndarray, rms_dbfs: float = -20.0) -> np.ndarray:
    voiced = clip[np.abs(clip) > 0.02 * np.abs(clip).max()]
    rms = float(np.sqrt(np.mean(np.square(voiced)))) if voiced.size else 1.0
    return (clip * (10 ** (rms_dbfs / 20.0) / rms)).astype(np.float32)


# -------------------------------------------------------------------- noise


def noise(kind: str, duration_s: float, level_dbfs: float, seed: int = 0) -> np.ndarray:
    """Stationary or impulsive background noise at an RMS level in dBFS."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * SAMPLE_RATE))
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "pink":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.arange(spectrum.shape[0], dtype=float)
        f[0] = 1.0
        x = np.fft.irfft(spectrum / np.sqrt(f), n)
    elif kind == "hum":  # mains hum with harmonics over a little hiss: a cheap laptop mic
        t = np.arange(n) / SAMPLE_RATE
        x = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3)) + 0.05 * rng.standard_normal(n)
    elif kind == "clicks":  # keyboard clicks: short decaying bursts, three a second
        x = np.zeros(n)
        for start in rng.integers(0, max(n - 400, 1), max(1, int(3 * duration_s))):
            x[start:start + 400] += rng.standard_normal(400) * np.exp(-np.arange(400) / 60.0)
    else:
        raise ValueError(kind)
    x = x / (np.sqrt(np.mean(np.square(x))) + 1e-12)
    return (x * 10 ** (level_dbfs / 20.0)).astype(np.float32)


def babble(duration_s: float, level_dbfs: float) -> np.ndarray:
    """Four voices talking backwards at once: speech-like enough for the VAD, no words in it.

    This is where Whisper writes "Thank you so much for watching" unprompted.
    """
    n = int(round(duration_s * SAMPLE_RATE))
    mix = np.zeros(n)
    for i, name in enumerate(("LJ001-0001", "LJ001-0003", "LJ001-0004", "LJ001-0002")):
        backwards = corpus_clip(name)[::-1]
        mix += np.roll(np.tile(backwards, 1 + n // backwards.shape[0])[:n], i * 7000)
    mix /= np.sqrt(np.mean(np.square(mix))) + 1e-12
    return (mix * 10 ** (level_dbfs / 20.0)).astype(np.float32)


# -------------------------------------------------------------------- scenes


@dataclass
class Scene:
    audio: np.ndarray
    onsets_s: list[float] = field(default_factory=list)  # true onset of each placed clip
    speech_ends_s: list[float] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / SAMPLE_RATE


def scene(parts: list[float | np.ndarray], background: tuple[str, float] | None = None, seed: int = 0) -> Scene:
    """Concatenate gaps (seconds of silence) and clips; then add background noise.

    ``background`` is (kind, RMS level in dBFS), kind one of :func:`noise`'s or "babble".
    """
    pieces, onsets, ends, t_samples = [], [], [], 0
    for part in parts:
        if isinstance(part, np.ndarray):
            onsets.append((t_samples / SAMPLE_RATE) + clip_onset_s(part))
            ends.append((t_samples + part.shape[0]) / SAMPLE_RATE)
            pieces.append(part.astype(np.float32))
            t_samples += part.shape[0]
        else:
            gap = np.zeros(int(round(part * SAMPLE_RATE)), dtype=np.float32)
            pieces.append(gap)
            t_samples += gap.shape[0]
    audio = np.concatenate(pieces)
    if background is not None:
        kind, level_dbfs = background
        duration_s = audio.shape[0] / SAMPLE_RATE
        sound = babble(duration_s, level_dbfs) if kind == "babble" else noise(kind, duration_s, level_dbfs, seed)
        audio = audio + sound[: audio.shape[0]]
    return Scene(audio=np.clip(audio, -1.0, 1.0).astype(np.float32), onsets_s=onsets, speech_ends_s=ends)
