"""Speech to text: faster-whisper with word timestamps and hallucination guards.

    transcriber = Transcriber()                       # bundled tiny.en, loaded on first use
    utterances = transcriber.transcribe(audio_float32, offset_s=12.0)

Each kept Whisper segment becomes one :class:`Utterance` whose words carry
start/end times in seconds on the caller's clock (``offset_s`` is added).

Whisper invents text where there is none: "Thank you.", "You" on silence,
fluent nonsense on noise, a stray "please." after the last word. Three guards
stand in the way, cheapest first:

1. Silero VAD (``vad_filter``) hands Whisper only the stretches that hold
   speech, so pure silence and stationary noise never reach the decoder.
2. No conditioning on previous text: one hallucinated window cannot seed
   the next (the repetition loops of long recordings). The batched decoder
   (the default) decodes each VAD chunk on its own; the sequential one runs
   with ``condition_on_previous_text=False``.
3. Each decoded segment is checked against the decoder's own confidence
   signals (:class:`GuardOptions`) and dropped when they say "no speech".

The ``transcribe`` subcommand (:func:`main_transcribe`) prints the result as
a timestamped transcript or as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voice_interviewer.audio_io import SAMPLE_RATE, load_audio
from voice_interviewer.errors import UserError
from voice_interviewer.models import whisper_model_ref
from voice_interviewer.utterances import Utterance, Word

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float, float], None]
"""Called as ``progress(done_s, total_s)`` after each decoded segment."""


@dataclass
class VadSettings:
    """Silero VAD, as faster-whisper runs it before decoding."""

    # Silero's own recommended default; lower admits breath and keyboard noise.
    threshold: float = 0.5
    # A pause shorter than this stays inside one speech chunk. faster-whisper
    # concatenates chunks before decoding, and a word cut at a chunk seam gets
    # a wrong timestamp, so short pauses are better kept than cut. (These
    # settings and faster-whisper's own, 2000 ms / 400 ms, gave the same
    # corpus WER; the shorter pad moves first-word times less.)
    min_silence_duration_ms: int = 1000
    # Padding keeps soft word onsets (f, h, s) and trailing consonants inside
    # the chunk. It also pulls Whisper's first-word time early, which
    # onset.refine_onset_s corrects from the audio afterwards.
    speech_pad_ms: int = 300
    # A chunk shorter than this is a click or a cough, not a word.
    min_speech_duration_ms: int = 150

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "min_silence_duration_ms": self.min_silence_duration_ms,
            "speech_pad_ms": self.speech_pad_ms,
            "min_speech_duration_ms": self.min_speech_duration_ms,
        }


@dataclass
class GuardOptions:
    """When a decoded segment is dropped as a hallucination.

    Measured with the bundled tiny.en (int8) on the real-speech corpus, on
    silence, white/pink/brown noise, hum, noise bursts, clicks and reversed
    speech: real read speech had ``no_speech_prob`` <= 0.15 and
    ``avg_logprob`` >= -0.45 on every segment; the "You" Whisper writes on 10 s
    of silence (without VAD) had 0.94 / -0.82, the "please." it appends after
    the last word 0.43 / -1.06 with word probability 0.08, reversed speech
    -1.03. The thresholds sit well clear of the speech side.
    """

    # Whisper's own rule drops a window only when no_speech_prob > 0.6 AND
    # avg_logprob < -1.0, which lets the silence "You" (-0.82) through; we
    # pair the same no-speech level with a looser log-prob bound. The batched
    # decoder (the default), fed silence, pink noise, hum or clicks without
    # VAD, wrote "You", "Thank you so much for watching ...", "Okay, okay,
    # okay ..." at 0.86-0.97 / -0.82 to -1.30, and real speech at <= 0.10 /
    # >= -0.46 (the worst: after 8 s of leading silence).
    no_speech_prob: float = 0.6
    no_speech_logprob: float = -0.7
    # Whisper's own "decode failed" bound (below it the sequential decoder
    # retries at a higher temperature; a segment still below it is guesswork).
    min_avg_logprob: float = -1.0
    # gzip ratio of the text; above it the decoder is looping ("thank you
    # thank you ..."). Whisper's own fallback bound.
    max_compression_ratio: float = 2.4
    # A segment this short whose every word is this unsure is a stray
    # "You." / "please." (speech words score >= 0.5 almost always).
    short_segment_words: int = 2
    short_segment_word_probability: float = 0.3


@dataclass
class DecodeOptions:
    """faster-whisper decoding settings; defaults are what the tests measure."""

    # Beam 5 against greedy on the real-speech corpus: 6.9 % against 7.6 % WER
    # (sequential decoding) for about 1.5x the decoding time.
    beam_size: int = 5
    # Speech chunks decoded together through faster-whisper's
    # BatchedInferencePipeline; 1 decodes window by window. On this 2-core
    # machine 10 minutes of rehearsal speech took 13.8 s batched against
    # 19.4 s sequential in one run (1.4x; up to 1.8x when the machine was
    # busy), at the same corpus WER (6.9 %); each chunk is decoded on its own,
    # so a hallucination cannot carry into the next one. 1 gives the
    # sequential decoder, with temperature fallback and
    # condition_on_previous_text=False.
    batch_size: int = 8
    language: str = "en"
    vad: VadSettings = field(default_factory=VadSettings)
    guard: GuardOptions = field(default_factory=GuardOptions)
    # faster-whisper glues VAD chunks together before decoding, so one
    # segment can span a long silence ("Okay, let me think. [6 s] Roll back
    # the deploy."): measured on rendered speech, 6 s of silence between two
    # sentences gave one segment in 25 of 35 scenes. Everything downstream
    # times an utterance by its first word, so a segment is cut wherever its
    # words pause this long (the VAD's min_silence_duration_ms: a pause that
    # splits speech chunks splits utterances). Sentence ends are cut later,
    # by replay.split_sentences.
    split_pause_s: float = 1.0


# One model per (reference, compute type, threads) in the process: loading
# tiny.en takes about a second and every Transcriber may share it.
_MODELS: dict[tuple[str, str, int], Any] = {}
_MODELS_LOCK = threading.Lock()


def _load_model(ref: str, compute_type: str, cpu_threads: int):
    key = (ref, compute_type, cpu_threads)
    with _MODELS_LOCK:
        if key not in _MODELS:
            from faster_whisper import WhisperModel

            started = time.perf_counter()
            try:
                # local_files_only: a size name resolves from the local model
                # cache only; nothing is downloaded at run time.
                _MODELS[key] = WhisperModel(ref, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads,
                                            local_files_only=True)
            except Exception as exc:  # huggingface_hub, CTranslate2 and OS errors alike
                if Path(ref).is_dir():
                    raise UserError(f"cannot load speech model {ref}: {' '.join(str(exc).split())}") from None
                raise UserError(f"speech model {ref!r} is not a model folder and not in the local faster-whisper "
                                "cache (nothing is downloaded at run time; give a CTranslate2 folder, or "
                                "omit --whisper-model for the bundled tiny.en)") from None
            logger.info("loaded speech model %s in %.1f s", ref, time.perf_counter() - started)
        return _MODELS[key]


class Transcriber:
    """faster-whisper on 16 kHz float32 audio, loaded lazily and cached.

    ``model``: a size name (``base.en``) or a CTranslate2 folder; ``None`` is
    the bundled tiny.en. ``prompt`` and ``hotwords`` bias recognition towards
    the scenario's terms; the batched decoder gives both to every chunk (the
    sequential one, ``DecodeOptions(batch_size=1)``, gives the prompt to the
    first window only).
    """

    def __init__(self, model: str | None = None, prompt: str | None = None, hotwords: str | None = None,
                 compute_type: str = "int8", cpu_threads: int = 0, options: DecodeOptions | None = None):
        self.model_ref = whisper_model_ref(model)
        self.prompt = prompt
        self.hotwords = hotwords
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.options = options or DecodeOptions()

    @property
    def model(self):
        return _load_model(self.model_ref, self.compute_type, self.cpu_threads)

    @property
    def pipeline(self):
        from faster_whisper import BatchedInferencePipeline

        model = self.model
        with _MODELS_LOCK:
            if not hasattr(model, "_voice_interviewer_pipeline"):
                model._voice_interviewer_pipeline = BatchedInferencePipeline(model)
            return model._voice_interviewer_pipeline

    def transcribe(self, audio_float32: np.ndarray, offset_s: float = 0.0,
                   progress: ProgressCallback | None = None) -> list[Utterance]:
        """Utterances with word times in seconds, ``offset_s`` added to each."""
        audio_float32 = np.ascontiguousarray(audio_float32, dtype=np.float32)
        total_s = audio_float32.shape[0] / SAMPLE_RATE
        if total_s == 0:
            return []
        started = time.perf_counter()
        segments = self._segments(audio_float32)

        utterances, dropped = [], 0
        for segment in segments:
            reason = hallucination_reason(segment, self.options.guard)
            if reason:
                dropped += 1
                logger.debug("dropped segment %.2f-%.2f %r: %s", segment.start, segment.end, segment.text, reason)
            else:
                utterance = _to_utterance(segment, offset_s)
                if utterance.words:
                    utterances.extend(split_utterance(utterance, self.options))
            if progress is not None:
                progress(min(float(segment.end), total_s), total_s)
        if progress is not None:
            progress(total_s, total_s)

        elapsed_s = time.perf_counter() - started
        logger.info("transcribed %.1f s of audio in %.1f s: %d segments kept, %d dropped as hallucinations",
                    total_s, elapsed_s, len(utterances), dropped)
        return utterances

    def _segments(self, audio_float32: np.ndarray):
        opts = self.options
        common = dict(
            language=opts.language,
            beam_size=opts.beam_size,
            word_timestamps=True,
            vad_filter=True,
            vad_parameters=opts.vad.as_dict(),
            initial_prompt=self.prompt or None,
            hotwords=self.hotwords or None,
        )
        if opts.batch_size > 1:
            # Timestamp tokens on: without them the batched decoder tends to
            # stop at the first sentence of a chunk that VAD glued together
            # from two stretches of speech, and the second is lost (measured:
            # a sentence, 6 s of keyboard clicks, a sentence -> only the first).
            segments, _info = self.pipeline.transcribe(audio_float32, batch_size=opts.batch_size,
                                                       without_timestamps=False, **common)
        else:
            segments, _info = self.model.transcribe(audio_float32, condition_on_previous_text=False, **common)
        return segments  # a lazy generator: decoding happens as it is iterated


def hallucination_reason(segment, guard: GuardOptions) -> str | None:
    """Why ``segment`` (a faster-whisper Segment) looks invented, or None."""
    if segment.no_speech_prob > guard.no_speech_prob and segment.avg_logprob < guard.no_speech_logprob:
        return f"no_speech_prob {segment.no_speech_prob:.2f} with avg_logprob {segment.avg_logprob:.2f}"
    if segment.avg_logprob < guard.min_avg_logprob:
        return f"avg_logprob {segment.avg_logprob:.2f}"
    if segment.compression_ratio > guard.max_compression_ratio:
        return f"compression_ratio {segment.compression_ratio:.2f} (repetition)"
    words = segment.words or []
    if 0 < len(words) <= guard.short_segment_words and all(
            w.probability < guard.short_segment_word_probability for w in words):
        return "short segment of unsure words"
    return None


def _to_utterance(segment, offset_s: float) -> Utterance:
    words = [
        Word(start_s=float(w.start) + offset_s, end_s=float(w.end) + offset_s, word=w.word.strip(),
             probability=float(w.probability))
        for w in (segment.words or []) if w.word.strip()
    ]
    if not any(ch.isalnum() for w in words for ch in w.word):
        words = []  # Whisper writes ". ." for noise it half-believes: no letter or digit, no words
    start_s = words[0].start_s if words else float(segment.start) + offset_s
    end_s = words[-1].end_s if words else float(segment.end) + offset_s
    return Utterance(start_s=start_s, end_s=end_s, text=segment.text.strip(), words=words)


def split_utterance(utterance: Utterance, options: DecodeOptions) -> list[Utterance]:
    """``utterance`` cut wherever its words pause ``options.split_pause_s`` or longer."""
    pieces: list[list[Word]] = [[]]
    for word in utterance.words:
        if pieces[-1] and word.start_s - pieces[-1][-1].end_s >= options.split_pause_s:
            pieces.append([])
        pieces[-1].append(word)
    if len(pieces) == 1:
        return [utterance]
    return [Utterance(start_s=words[0].start_s, end_s=words[-1].end_s, text=join_words(words),
                      words=words, speaker=utterance.speaker) for words in pieces]


# Whisper splits "v2.3.1" into "v2" ".3" ".1" and "12%" into "12" "%": tokens
# starting with these attach to the word before when words become text again.
_ATTACHING = tuple(".,%?!:;'")


def join_words(words: list[Word]) -> str:
    text = ""
    for token in (w.word for w in words):
        if text and not token.startswith(_ATTACHING):
            text += " "
        text += token
    return text


# ------------------------------------------------------------- output forms


def transcript_json(utterances: list[Utterance]) -> dict[str, Any]:
    """The ``transcribe --json`` document."""
    return {
        "segments": [
            {
                "start": round(u.start_s, 3),
                "end": round(u.end_s, 3),
                "text": u.text,
                "words": [{"start": round(w.start_s, 3), "end": round(w.end_s, 3), "word": w.word} for w in u.words],
            }
            for u in utterances
        ],
        "text": " ".join(u.text for u in utterances),
    }


def format_timestamp(t_s: float) -> str:
    minutes, seconds = divmod(max(t_s, 0.0), 60.0)
    return f"{int(minutes):02d}:{seconds:05.2f}"


def transcript_text(utterances: list[Utterance]) -> str:
    """One line per segment: ``[00:03.12 - 00:05.40] text`` (ASCII, for any terminal encoding)."""
    return "\n".join(f"[{format_timestamp(u.start_s)} - {format_timestamp(u.end_s)}] {u.text}" for u in utterances)


# ---------------------------------------------------------------- the CLI


def main_transcribe(args: argparse.Namespace) -> int:
    """``voice-interviewer transcribe PATH [--json] [--scenario ID] [--whisper-model X]``."""
    path = Path(args.path)
    transcriber = _transcriber_for(args)

    audio_float32 = load_audio(path)

    utterances = transcriber.transcribe(audio_float32)
    if not utterances:
        raise UserError(f"no speech found in {path}")

    utterances = _refine_onsets(utterances, audio_float32)

    if getattr(args, "json", False):
        print(json.dumps(transcript_json(utterances), ensure_ascii=False, indent=2))
    else:
        print(transcript_text(utterances))
    return 0


def _transcriber_for(args: argparse.Namespace) -> Transcriber:
    scenario_id = getattr(args, "scenario", None)
    scenario = None
    if scenario_id:
        from voice_interviewer.scenario import load_scenario

        scenario = load_scenario(scenario_id)
    prompt, hotwords = rehearsal_prompts(scenario)
    return Transcriber(model=getattr(args, "whisper_model", None), prompt=prompt, hotwords=hotwords)


def scenario_hotwords(scenario) -> str:
    """The scenario's vocabulary as one hotword string for every window."""
    return ", ".join(scenario.vocabulary)


def rehearsal_prompts(scenario=None) -> tuple[str, str]:
    """(initial prompt, hotwords) for a rehearsal: the scenario's terms, and fillers kept.

    Whisper drops nearly every "um" and "uh" unless its prompt has some;
    with them the bundled tiny.en kept 33 of 40 on a rendered fixture (0
    without), and WER on the real-speech corpus did not change
    (tests/test_delivery.py prints both).
    """
    from voice_interviewer.delivery import with_fillers

    if scenario is None:
        return with_fillers(None, None)
    return with_fillers(scenario.stt_prompt(), scenario_hotwords(scenario))


def _refine_onsets(utterances: list[Utterance], audio_float32: np.ndarray) -> list[Utterance]:
    from voice_interviewer.onset import refine_utterance_onsets

    return refine_utterance_onsets(utterances, audio_float32, SAMPLE_RATE)
