"""What the live audio edge costs: resampling, echo cancelling, and speaking a line.

    /work/venv/bin/python bench/bench_audio_edge.py [--seconds 20]

Times, in this one process, each stage against a baseline doing the same
work the obvious way:

    resample   44.1 kHz mic -> 16 kHz in 20 ms blocks: devices.StreamResampler
               (filter designed once) against scipy's resample_poly called
               per block, which designs its 8821-tap filter every call
    aec        the WebRTC echo canceller, reverse + capture per 10 ms frame
               (baseline: the same frames copied to int16 and back, the
               conversion alone)
    tts        first audio of a scripted line: a precomputed cache hit
               against a cold Piper synthesis of the same sentence

and prints one table: CPU milliseconds per second of audio (per line for
tts), and the ratio against the baseline. Times depend on what else the
machine is doing: run it when quiet.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

LINE = "Core API is returning 500s on 12% of traffic in eu-west-1. What do you check first?"


def timed(fn, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` runs, seconds (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_resample(seconds: float) -> tuple[float, float]:
    from scipy.signal import resample_poly

    from voice_interviewer.live.devices import StreamResampler

    rate, block = 44100, 882
    audio = np.random.default_rng(0).normal(0, 0.1, int(rate * seconds)).astype(np.float32)

    def ours():
        r = StreamResampler(rate, 16000)
        for i in range(0, audio.size, block):
            r.process(audio[i:i + block])

    def baseline():
        for i in range(0, audio.size, block):
            resample_poly(audio[i:i + block], 160, 441)

    return timed(ours), timed(baseline)


def bench_aec(seconds: float) -> tuple[float, float]:
    from voice_interviewer.live.aec import EchoCanceller, _float_to_int16_bytes

    audio = np.random.default_rng(1).normal(0, 0.1, int(16000 * seconds)).astype(np.float32)
    frames = [audio[i:i + 160] for i in range(0, audio.size - 159, 160)]

    def ours():
        canceller = EchoCanceller(stream_delay_ms=80)
        for f in frames:
            canceller.process_reverse(f)
            canceller.process_capture(f)

    def baseline():
        for f in frames:
            for _ in range(2):
                np.frombuffer(_float_to_int16_bytes(f), dtype=np.int16).astype(np.float32)

    return timed(ours), timed(baseline)


def bench_tts() -> tuple[float, float]:
    from voice_interviewer.live.tts import Synthesizer, split_sentences

    synth = Synthesizer()
    synth.load()
    sentence = split_sentences(LINE)[0]
    cold = timed(lambda: synth._run_piper(sentence))
    synth.precompute([LINE], background=False)
    hit = timed(lambda: synth.synthesize(sentence))
    return hit, cold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of audio per stage")
    args = parser.parse_args()

    rows = []
    ours, base = bench_resample(args.seconds)
    rows.append(("resample 44.1k->16k", ours / args.seconds * 1000, base / args.seconds * 1000, "per s of audio"))
    ours, base = bench_aec(args.seconds)
    rows.append(("aec (reverse+capture)", ours / args.seconds * 1000, base / args.seconds * 1000,
                 "per s of audio"))
    hit, cold = bench_tts()
    rows.append(("tts first sentence", hit * 1000, cold * 1000, "per line (cache vs Piper)"))

    print(f"{'stage':<24}{'ours ms':>10}{'baseline ms':>13}{'ratio':>9}  unit")
    for name, ours_ms, base_ms, unit in rows:
        print(f"{name:<24}{ours_ms:>10.2f}{base_ms:>13.2f}{ours_ms / base_ms:>9.3f}  {unit}")


if __name__ == "__main__":
    main()
