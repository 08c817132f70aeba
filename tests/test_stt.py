"""Speech to text on real speech: accuracy, silence and noise, formats, the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from conftest import REAL_SPEECH_DIR, require, require_program
from speech_scenes import babble, corpus_clip, noise, scene
from voice_interviewer.audio_io import SAMPLE_RATE, load_audio
from voice_interviewer.stt import DecodeOptions, GuardOptions, Transcriber, hallucination_reason, split_utterance
from voice_interviewer.utterances import Utterance, Word

WER_LIMIT = 0.08


def corpus():
    require(REAL_SPEECH_DIR.is_dir(), f"real-speech corpus not found at {REAL_SPEECH_DIR}")
    clips = sorted(p for p in REAL_SPEECH_DIR.iterdir() if p.suffix in (".wav", ".ogg", ".flac", ".mp3"))
    return [(p, p.with_suffix(".txt").read_text(encoding="utf-8")) for p in clips]


@pytest.fixture(scope="module")
def transcriber():
    return Transcriber()


# ------------------------------------------------------------------ the WER

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """English words for 0 <= n < 10**9, the common form both sides are mapped to."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for size, name in ((10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            rest = n % size
            return f"{number_words(n // size)} {name}" + ("" if rest == 0 else " " + number_words(rest))
    raise ValueError(n)


def normalise(text: str) -> list[str]:
    """Lowercase, digits as words, punctuation dropped (apostrophes inside words kept)."""
    text = text.lower().replace("-", " ").replace("%", " percent")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,000 -> 1000
    text = re.sub(r"\d+", lambda m: f" {number_words(int(m.group()))} ", text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1]


def test_normaliser_maps_numbers_and_punctuation_to_one_form():
    assert normalise("By 25 to 30 years, don't-stop!") == "by twenty five to thirty years don't stop".split()
    assert normalise("twenty-five to thirty years") == normalise("25 to 30 years")
    assert normalise("1,200 users; 12% of traffic") == (
        "one thousand two hundred users twelve percent of traffic".split())
    assert edit_distance("a b c d".split(), "a x c".split()) == 2


def test_real_speech_word_error_rate_within_limit(transcriber):
    rows, errors, words = [], 0, 0
    for path, reference in corpus():
        hypothesis = " ".join(u.text for u in transcriber.transcribe(load_audio(path)))
        ref, hyp = normalise(reference), normalise(hypothesis)
        e = edit_distance(ref, hyp)
        errors, words = errors + e, words + len(ref)
        rows.append(f"  {path.name:<20} {e:>3} / {len(ref):<3} WER {e / len(ref):6.1%}   {hypothesis.strip()}")
    total = errors / words
    print("\nreal-speech WER (bundled tiny.en, int8, beam 5):\n" + "\n".join(rows)
          + f"\n  {'total':<20} {errors:>3} / {words:<3} WER {total:6.1%}")
    assert total <= WER_LIMIT


# ----------------------------------------------------------- silence, noise

NOTHING_TO_HEAR = {
    "silence": lambda: np.zeros(10 * SAMPLE_RATE, dtype=np.float32),
    "near-silence-dither": lambda: noise("white", 10, -70),
    "white-noise": lambda: noise("white", 10, -35, seed=1),
    "pink-noise": lambda: noise("pink", 10, -30, seed=2),
    "mains-hum": lambda: noise("hum", 10, -30, seed=3),
    "keyboard-clicks": lambda: noise("clicks", 10, -25, seed=4),
    # Passes the VAD; undefended, Whisper writes "Thank you so much for watching ...".
    "backwards-babble": lambda: babble(10, -30),
}


@pytest.mark.parametrize("kind", sorted(NOTHING_TO_HEAR))
def test_silence_and_noise_give_no_words(transcriber, kind):
    require(REAL_SPEECH_DIR.is_dir(), "real-speech corpus missing")  # babble is made of it
    utterances = transcriber.transcribe(NOTHING_TO_HEAR[kind]())
    assert [u.text for u in utterances] == []


TAILS = {
    "silence": None,
    "pink-noise": ("pink", -42.0),
    "white-noise": ("white", -50.0),
    "clicks": ("clicks", -35.0),
    "babble": ("babble", -45.0),
}


@pytest.mark.parametrize("tail", sorted(TAILS))
@pytest.mark.parametrize("clip", ["LJ001-0004", "fleurs-en-003"])
def test_speech_then_trailing_noise_invents_no_words(transcriber, clip, tail):
    require(REAL_SPEECH_DIR.is_dir(), "real-speech corpus missing")
    speech = corpus_clip(clip)
    clean = [w.word for u in transcriber.transcribe(speech) for w in u.words]
    padded = scene([speech, 12.0], TAILS[tail])
    words = [w for u in transcriber.transcribe(padded.audio) for w in u.words]
    speech_end_s = padded.speech_ends_s[0]
    late = [w.word for w in words if w.start_s > speech_end_s + 0.3]
    assert late == [], f"invented after the speech ended at {speech_end_s:.2f} s"
    assert len(words) <= len(clean) + 1


# --------------------------------------------------------------- API shape


def test_offset_and_progress(transcriber):
    audio = corpus_clip("LJ001-0002")
    calls = []
    base = transcriber.transcribe(audio)
    shifted = transcriber.transcribe(audio, offset_s=100.0, progress=lambda done, total: calls.append((done, total)))
    assert [w.word for u in shifted for w in u.words] == [w.word for u in base for w in u.words]
    assert shifted[0].words[0].start_s == pytest.approx(base[0].words[0].start_s + 100.0)
    assert shifted[0].start_s == pytest.approx(base[0].start_s + 100.0)
    total_s = audio.size / SAMPLE_RATE
    assert calls and calls[-1] == (total_s, total_s)
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))


def test_model_is_loaded_once_and_shared(transcriber):
    other = Transcriber(prompt="Incident call.")
    assert other.model is transcriber.model


def test_a_long_pause_inside_a_segment_splits_it():
    words = [Word(0.0, 0.4, "Okay,"), Word(0.5, 0.9, "wait."), Word(7.0, 7.3, "Roll"), Word(7.3, 7.6, "back"),
             Word(7.6, 7.9, "v2"), Word(7.9, 8.2, ".3.1")]
    parts = split_utterance(Utterance(0.0, 8.2, "Okay, wait. Roll back v2.3.1", words), DecodeOptions())
    assert [(p.start_s, p.text) for p in parts] == [(0.0, "Okay, wait."), (7.0, "Roll back v2.3.1")]


def fake_segment(no_speech_prob=0.02, avg_logprob=-0.3, compression_ratio=1.2, probabilities=(0.9, 0.8, 0.95)):
    words = [SimpleNamespace(probability=p) for p in probabilities]
    return SimpleNamespace(no_speech_prob=no_speech_prob, avg_logprob=avg_logprob,
                           compression_ratio=compression_ratio, words=words)


@pytest.mark.parametrize("segment, dropped", [
    (fake_segment(), False),
    (fake_segment(no_speech_prob=0.94, avg_logprob=-0.82, probabilities=(0.05,)), True),  # "You" on silence
    (fake_segment(no_speech_prob=0.7, avg_logprob=-0.3), False),  # confident speech, unsure VAD: kept
    (fake_segment(avg_logprob=-1.2), True),
    (fake_segment(compression_ratio=3.1), True),  # "thank you thank you thank you ..."
    (fake_segment(probabilities=(0.08,)), True),  # a stray "please."
    (fake_segment(probabilities=(0.2, 0.9)), False),
], ids=["speech", "silence-you", "noisy-speech", "low-logprob", "loop", "stray-word", "short-but-sure"])
def test_hallucination_guard_rules(segment, dropped):
    assert (hallucination_reason(segment, GuardOptions()) is not None) == dropped


# ----------------------------------------------------------------- formats

FORMATS = {
    "flac": ("clip.flac", []),
    "ogg-opus": ("clip.opus", ["-c:a", "libopus", "-b:a", "24k"]),
    "mp3": ("clip.mp3", ["-b:a", "48k"]),
    "m4a": ("clip.m4a", ["-c:a", "aac", "-b:a", "48k"]),
    "wav-8k": ("clip-8k.wav", ["-ar", "8000"]),
    "wav-44k-stereo": ("clip-44k.wav", ["-ar", "44100", "-ac", "2"]),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_is_transcribed(transcriber, tmp_path, fmt):
    source = REAL_SPEECH_DIR / "LJ001-0004.wav"
    require(source.is_file(), "real-speech corpus missing")
    ffmpeg = require_program("ffmpeg")
    name, extra = FORMATS[fmt]
    converted = tmp_path / name
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-i", str(source), *extra, str(converted)], check=True)
    ref = normalise(source.with_suffix(".txt").read_text(encoding="utf-8"))
    hyp = normalise(" ".join(u.text for u in transcriber.transcribe(load_audio(converted))))
    wer = edit_distance(ref, hyp) / len(ref)
    print(f"{fmt}: WER {wer:.1%}: {' '.join(hyp)}")
    assert wer <= 0.15  # telephone-band 8 kHz loses some consonants; the words survive


# --------------------------------------------------------------------- CLI


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "voice_interviewer", "transcribe", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_cli_json_has_segments_with_words():
    clip = REAL_SPEECH_DIR / "fleurs-en-000.ogg"
    require(clip.is_file(), "real-speech corpus missing")
    result = run_cli(clip, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"segments", "text"}
    assert doc["segments"]
    for seg in doc["segments"]:
        assert set(seg) == {"start", "end", "text", "words"}
        assert seg["start"] <= seg["end"]
        for word in seg["words"]:
            assert set(word) == {"start", "end", "word"}
            assert seg["start"] - 1e-3 <= word["start"] <= word["end"] <= seg["end"] + 1e-3
    assert doc["text"] == " ".join(s["text"] for s in doc["segments"])
    ref = normalise(clip.with_suffix(".txt").read_text(encoding="utf-8"))
    assert edit_distance(ref, normalise(doc["text"])) / len(ref) <= 0.15


def test_cli_prints_a_timestamped_transcript_with_scenario_vocabulary():
    clip = REAL_SPEECH_DIR / "LJ001-0002.wav"
    require(clip.is_file(), "real-speech corpus missing")
    result = subprocess.run(  # -v is a top-level option, before the subcommand
        [sys.executable, "-m", "voice_interviewer", "-v", "transcribe", str(clip), "--scenario", "core-api-500s"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.match(r"^\[00:0\d\.\d\d - 00:0\d\.\d\d\] .*comparatively modern", result.stdout)
    assert re.search(r"transcribed \d+\.\d s of audio in \d+\.\d s", result.stderr)


def test_cli_silence_only_is_no_speech_found(tmp_path):
    path = tmp_path / "quiet.wav"
    sf.write(path, noise("white", 8, -65), SAMPLE_RATE, subtype="PCM_16")
    result = run_cli(path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"voice-interviewer: no speech found in {path}"
    assert result.stdout == ""


def test_cli_unknown_scenario_is_one_line(tmp_path):
    result = run_cli(REAL_SPEECH_DIR / "LJ001-0002.wav", "--scenario", "no-such-scenario")
    assert result.returncode == 2  # an unknown scenario is a usage error, like an invalid scenario file
    assert "Traceback" not in result.stderr and "unknown scenario" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_unknown_model_is_one_line_and_downloads_nothing():
    result = run_cli(REAL_SPEECH_DIR / "LJ001-0002.wav", "--whisper-model", "no-such-size.en")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "not in the local faster-whisper cache" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
