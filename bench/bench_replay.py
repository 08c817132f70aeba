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
import resource
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


class Timer:
    """Wall time, and CPU time of every thread of this process (or of waited-for children).

    CPU seconds say what the work costs whatever else the machine is doing;
    on a busy machine wall time can be several times cpu / cores.
    """

    def __init__(self, children: bool = False):
        self.children = children

    def _cpu_s(self) -> float:
        if self.children:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            return usage.ru_utime + usage.ru_stime
        return time.process_time()

    def __enter__(self) -> "Timer":
        self._wall, self._cpu = time.perf_counter(), self._cpu_s()
        return self

    def __exit__(self, *exc_info) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.cpu_s = self._cpu_s() - self._cpu


def time_baseline(model, audio_float32: np.ndarray, vad: bool) -> tuple[Timer, int]:
    with Timer() as timer:
        segments, _info = model.transcribe(audio_float32, language="en", word_timestamps=True, vad_filter=vad)
        words = sum(len(s.words or []) for s in segments)  # the generator decodes as it is consumed
    return timer, words


def time_replay(path: Path, out_dir: Path, whisper_model: str | None) -> tuple[Timer, dict]:
    from voice_interviewer.replay import replay_path

    with Timer() as timer:
        report = replay_path(path, out_dir=out_dir, whisper_model=whisper_model, progress=False, history=False)
    return timer, report


def time_cli(path: Path, out_dir: Path, whisper_model: str | None) -> Timer:
    command = [sys.executable, "-m", "voice_interviewer", "replay", str(path), "--out", str(out_dir),
               "--no-progress", "--no-history", "--json"]
    if whisper_model:
        command += ["--whisper-model", whisper_model]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with Timer(children=True) as timer:
        result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"replay CLI failed: {result.stderr.strip()}")
    return timer


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

        baseline, words = time_baseline(model, audio_float32, vad=False)
        rows.append(("faster-whisper, word timestamps (baseline)", baseline, f"{words} words"))
        with_vad, vad_words = time_baseline(model, audio_float32, vad=True)
        rows.append(("faster-whisper, word timestamps + VAD", with_vad, f"{vad_words} words"))
        replay, report = time_replay(wav, Path(tmp) / "out", args.whisper_model)
        rows.append(("replay (in-process)", replay,
                     f"{len(report['utterances'])} utterances, first mitigation at {report['mitigation']['onset_s']} s"))
        if not args.no_cli:
            rows.append(("replay CLI (process start + model load)",
                         time_cli(wav, Path(tmp) / "cli", args.whisper_model), ""))

    print(f"\nreplay benchmark: {audio_s / 60:.1f} min of audio, model {args.whisper_model or 'tiny.en (bundled)'}, "
          f"{cores} cores, load average {load:.2f} at start\n")
    print(f"{'run':<42} {'audio s':>7} {'wall s':>7} {'ratio':>6} {'x realtime':>10} {'cpu s':>7} {'cpu ratio':>9}  notes")
    for name, timer, notes in rows:
        print(f"{name:<42} {audio_s:7.1f} {timer.wall_s:7.2f} {timer.wall_s / baseline.wall_s:6.2f} "
              f"{audio_s / timer.wall_s:10.1f} {timer.cpu_s:7.2f} {timer.cpu_s / baseline.cpu_s:9.2f}  {notes}")
    target_s = 30.0 * audio_s / 600.0
    verdict = "meets" if replay.wall_s <= target_s else "misses"
    print(f"\nreplay {verdict} the target of {target_s:.0f} s for this length ({replay.wall_s:.1f} s wall, "
          f"{replay.cpu_s:.1f} s cpu on {cores} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
