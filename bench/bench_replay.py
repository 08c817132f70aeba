"""How long ``replay`` takes on a 10-minute recording, against faster-whisper alone.

    /work/venv/bin/python bench/bench_replay.py [--minutes 10] [--whisper-model X] [--no-cli]

Builds a recording of the given length from the committed rehearsal fixtures
(audio_fixtures/*.wav) with silence between them, then times, in this one
process and on the same audio:

    baseline    faster-whisper's own WhisperModel.transcribe(word_timestamps=True)
                with the same model, every segment consumed
    baseline+vad  the same with vad_filter=True (what replay's transcriber uses)
    replay      replay_path(): decode, VAD, transcribe, onset check, labels,
                director, report, report files written (model already loaded)
    replay CLI  `python -m voice_interviewer replay FILE` once in a subprocess:
                interpreter start and model load included

and prints one table: audio length, seconds, ratio against the baseline and
the realtime factor (audio seconds per second of work). The issue's target
is a 10-minute recording under 30 s with the default model on a 2-core
machine. Times depend on what else the machine is doing: run it when quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO_ROOT / "audio_fixtures"
SAMPLE_RATE = 16_000
GAP_S = 3.0  # silence between two fixtures, as between two takes


def build_recording_int16(minutes: float) -> np.ndarray:
    """Fixtures back to back (cycled) with GAP_S of silence between them, cut to length."""
    from voice_interviewer.session import read_wav_tolerant

    target = int(minutes * 60 * SAMPLE_RATE)
    names = sorted(json.loads((FIXTURES_DIR / "truth.json").read_text(encoding="utf-8"))["fixtures"])
    pieces, total = [], 0
    while total < target:
        for name in names:
            audio_float32, _rate = read_wav_tolerant(FIXTURES_DIR / f"{name}.wav")
            for piece in (audio_float32, np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.float32)):
                pieces.append(piece)
                total += len(piece)
            if total >= target:
                break
    audio_float32 = np.concatenate(pieces)[:target]
    return (np.clip(audio_float32, -1, 1) * 32767).astype("<i2")


def write_wav(path: Path, audio_int16: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(audio_int16.tobytes())


def time_baseline_s(model, audio_float32: np.ndarray, vad: bool) -> tuple[float, int]:
    started = time.perf_counter()
    segments, _info = model.transcribe(audio_float32, language="en", word_timestamps=True, vad_filter=vad)
    words = sum(len(s.words or []) for s in segments)  # the generator decodes as it is consumed
    return time.perf_counter() - started, words


def time_replay_s(path: Path, out_dir: Path, whisper_model: str | None) -> tuple[float, dict]:
    from voice_interviewer.replay import replay_path

    started = time.perf_counter()
    report = replay_path(path, out_dir=out_dir, whisper_model=whisper_model, progress=False, history=False)
    return time.perf_counter() - started, report


def time_cli_s(path: Path, out_dir: Path, whisper_model: str | None) -> float:
    command = [sys.executable, "-m", "voice_interviewer", "replay", str(path), "--out", str(out_dir),
               "--no-progress", "--no-history", "--json"]
    if whisper_model:
        command += ["--whisper-model", whisper_model]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed_s = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"replay CLI failed: {result.stderr.strip()}")
    return elapsed_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="recording length (default: 10)")
    parser.add_argument("--whisper-model", default=None, help="default: the bundled tiny.en")
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess run")
    args = parser.parse_args(argv)

    from voice_interviewer.replay import make_transcriber
    from voice_interviewer.scenario import load_scenario

    audio_int16 = build_recording_int16(args.minutes)
    audio_float32 = audio_int16.astype(np.float32) / 32768.0
    audio_s = len(audio_int16) / SAMPLE_RATE
    # The same loaded model serves the baseline and replay, so neither pays for loading it.
    model = make_transcriber(load_scenario(), args.whisper_model).model
    cores = os.cpu_count()
    load = os.getloadavg()[0]

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        wav = Path(tmp) / "ten_minutes.wav"
        write_wav(wav, audio_int16)

        baseline_s, words = time_baseline_s(model, audio_float32, vad=False)
        rows.append(("faster-whisper, word timestamps (baseline)", baseline_s, f"{words} words"))
        vad_s, vad_words = time_baseline_s(model, audio_float32, vad=True)
        rows.append(("faster-whisper, word timestamps + VAD", vad_s, f"{vad_words} words"))
        replay_s, report = time_replay_s(wav, Path(tmp) / "out", args.whisper_model)
        mitigation = report["mitigation"]
        rows.append(("replay (in-process)", replay_s,
                     f"{len(report['utterances'])} utterances, first mitigation {mitigation['onset_s']} s"))
        if not args.no_cli:
            rows.append(("replay CLI (process start + model load)", time_cli_s(wav, Path(tmp) / "cli", args.whisper_model), ""))

    print(f"\nreplay benchmark: {audio_s / 60:.1f} min of audio, model {args.whisper_model or 'tiny.en (bundled)'}, "
          f"{cores} cores, load average {load:.2f} at start\n")
    print(f"{'run':<44} {'audio s':>8} {'time s':>8} {'ratio':>6} {'x realtime':>10}  notes")
    for name, elapsed_s, notes in rows:
        print(f"{name:<44} {audio_s:8.1f} {elapsed_s:8.2f} {elapsed_s / baseline_s:6.2f} "
              f"{audio_s / elapsed_s:10.1f}  {notes}")
    target_s = 30.0 * audio_s / 600.0
    verdict = "meets" if replay_s <= target_s else "misses"
    print(f"\nreplay {verdict} the target of {target_s:.0f} s for this length ({replay_s:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
