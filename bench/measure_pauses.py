"""Measure pause lengths inside read sentences with the streaming Silero VAD.

    /work/venv/bin/python bench/measure_pauses.py [FILES...]

Default: the real speech corpus in ../shared/corpus/real_speech (LJ Speech and
FLEURS, read sentences). Every stretch of silence between two speech frames
inside a clip is a pause *inside a turn*: the end-of-turn silence must be
longer than nearly all of them, or a reader would be cut off mid-sentence.
Prints the distribution and the VAD's cost per frame. docs/TURN_TAKING.md
records the numbers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from voice_interviewer.live.turns import FRAME_S, FRAME_SAMPLES, StreamingVad, TurnSettings

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "real_speech"


def load_16k(path: Path) -> np.ndarray:
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if rate != 16_000:
        n = int(round(len(audio) * 16_000 / rate))
        audio = np.interp(np.linspace(0, len(audio) - 1, n), np.arange(len(audio)), audio).astype(np.float32)
    return audio


def pauses_ms(probs: np.ndarray, settings: TurnSettings) -> list[float]:
    """Silences (below silence_threshold) between speech frames, hysteresis as in TurnDetector."""
    out, run, seen_speech, in_silence = [], 0, False, False
    for p in probs:
        if p >= settings.speech_threshold:
            if seen_speech and in_silence and run:
                out.append(run * FRAME_S * 1000)
            seen_speech, in_silence, run = True, False, 0
        elif p < settings.silence_threshold and seen_speech:
            in_silence = True
            run += 1
        elif in_silence:
            run += 1
    return out


def main(paths: list[Path]) -> None:
    settings = TurnSettings()
    vad = StreamingVad()
    all_pauses: list[float] = []
    frames, spent = 0, 0.0
    for path in paths:
        audio = load_16k(path)
        vad.reset()
        started = time.perf_counter()
        probs = vad.probabilities(audio)
        spent += time.perf_counter() - started
        frames += len(probs)
        p = pauses_ms(probs, settings)
        all_pauses += p
        print(f"{path.name:24s} {len(audio) / 16000:5.1f} s  pauses (ms): {', '.join(f'{x:.0f}' for x in p)}")
    a = np.array(all_pauses)
    print(f"\n{len(a)} pauses inside {len(paths)} clips")
    for q in (50, 90, 95, 99, 100):
        print(f"  p{q:<3d} {np.percentile(a, q):6.0f} ms")
    for limit in (settings.complete_ms, settings.statement_ms, settings.incomplete_ms):
        print(f"  pauses >= {limit:.0f} ms: {(a >= limit).sum()} of {len(a)}")
    print(f"VAD: {spent / frames * 1000:.2f} ms per {FRAME_SAMPLES}-sample frame "
          f"({FRAME_S * 1000 / (spent / frames * 1000):.0f}x real time)")


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] or sorted(p for p in CORPUS.iterdir() if p.suffix in (".wav", ".ogg"))
    main(args)
