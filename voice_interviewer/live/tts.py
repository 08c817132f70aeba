"""The interviewer's voice: Piper with the bundled en_US-joe-medium voice.

    synth = Synthesizer()                        # or Synthesizer(onnx_path, cache_dir=...)
    synth.precompute(scenario_lines)             # background thread; returns at once
    audio = synth.synthesize("Checkout is down.")   # float32 mono at synth.sample_rate
    for clip in synth.stream(sentences):         # one clip per sentence, lazily
        speakers.play(clip, synth.sample_rate, new_line=first)

Every text goes through :func:`textnorm.normalise_for_speech` first, and the
cache is keyed per sentence by the normalised text, so "p99" and "P99" share
one entry and a line precomputed whole is found sentence by sentence.
Piper puts ~55 ms of silence before each sentence and ~150 ms after; the
leading part is trimmed (it is dead air before every reply) and the trailing
part capped, which leaves a natural pause between streamed sentences.
An optional disk cache (``cache_dir``) keeps clips across sessions, keyed by
the voice (config + model size) and the normalised text.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import threading
import time
import weakref
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from voice_interviewer.errors import UserError
from voice_interviewer.live.textnorm import normalise_for_speech, normalise_key
from voice_interviewer.models import piper_voice_paths
from voice_interviewer.sentences import split_sentences  # one splitter for scripted and streamed lines

logger = logging.getLogger(__name__)

LEAD_KEEP_S = 0.01
"""Silence kept before the first voiced sample of a sentence."""
TAIL_KEEP_S = 0.12
"""Silence kept after the last voiced sample: the pause between sentences."""
SILENCE_LEVEL = 0.01
"""|sample| below this (-40 dBFS, after Piper's normalisation) counts as silence."""

PRECOMPUTE_STOP_WAIT_S = 10.0
"""How long exit waits for the sentence being precomputed (Piper takes ~1 s)."""

# Synthesizers with a precompute thread, stopped before the interpreter exits:
# a daemon thread killed inside onnxruntime aborts the process ("terminate
# called without an active exception", exit 134) instead of exiting cleanly.
_LIVE: "weakref.WeakSet[Synthesizer]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for synth in list(_LIVE):
        synth.close()


def trim_silence(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Drop leading silence down to LEAD_KEEP_S and cap trailing silence at TAIL_KEEP_S."""
    voiced = np.flatnonzero(np.abs(audio) > SILENCE_LEVEL)
    if voiced.size == 0:
        return audio[:0]
    start = max(0, voiced[0] - int(LEAD_KEEP_S * sample_rate))
    end = min(audio.size, voiced[-1] + 1 + int(TAIL_KEEP_S * sample_rate))
    return audio[start:end]


class Synthesizer:
    """Piper text-to-speech with a cache of precomputed sentences.

    ``onnx``: a Piper voice (.onnx with its .onnx.json beside it); None for
    the bundled voice. ``cache_dir``: folder for the disk cache, or None for
    memory only. ``length_scale``: Piper's speaking-rate knob (>1 slower);
    None keeps the voice's own. ``noise_scale`` / ``noise_w_scale``: Piper's
    randomness in timbre and timing; 0 makes synthesis repeatable (tests),
    None keeps the voice's own. The voice loads on first use (~0.5 s) or
    with :meth:`load`. Thread-safe: one synthesis runs at a time.
    """

    def __init__(self, onnx: str | Path | None = None, cache_dir: Path | None = None,
                 length_scale: float | None = None, noise_scale: float | None = None,
                 noise_w_scale: float | None = None) -> None:
        self.model_path, self.config_path = piper_voice_paths(onnx)
        self.noise_scale = noise_scale
        self.noise_w_scale = noise_w_scale
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.length_scale = length_scale
        self._voice = None
        self._voice_lock = threading.Lock()
        self._cache: dict[str, np.ndarray] = {}
        self._pending: dict[str, threading.Event] = {}
        self._cache_lock = threading.Lock()
        self._precompute_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._voice_id = self._make_voice_id()
        self.synth_seconds = 0.0
        """Total wall time spent in Piper (for the latency benchmark)."""

    def _make_voice_id(self) -> str:
        h = hashlib.sha256(self.config_path.read_bytes())
        h.update(str(self.model_path.stat().st_size).encode())
        h.update(repr((self.length_scale, self.noise_scale, self.noise_w_scale)).encode())
        return h.hexdigest()[:16]

    def load(self):
        """Load the Piper voice now (it otherwise loads on first synthesis)."""
        with self._voice_lock:
            if self._voice is None:
                try:
                    from piper import PiperVoice
                except ImportError:
                    raise UserError("piper-tts is not installed: pip install piper-tts") from None
                t = time.perf_counter()
                try:
                    self._voice = PiperVoice.load(self.model_path, self.config_path)
                except Exception as exc:
                    raise UserError(f"{self.model_path}: cannot load Piper voice ({exc})") from None
                logger.info("loaded voice %s in %.2f s", self.model_path.name, time.perf_counter() - t)
        return self._voice

    @property
    def sample_rate(self) -> int:
        return int(self.load().config.sample_rate)

    def synthesize(self, text: str) -> np.ndarray:
        """float32 mono at ``sample_rate``: every sentence of ``text``, from the cache when precomputed.

        A one-sentence text returns the cached array itself (read-only).
        """
        clips = [self._sentence(s) for s in split_sentences(text)]
        if len(clips) == 1:
            return clips[0]
        return np.concatenate(clips) if clips else np.zeros(0, np.float32)

    def stream(self, sentences: Iterable[str]) -> Iterator[np.ndarray]:
        """One clip per sentence (read-only arrays), synthesised only when the consumer asks for the next.

        Each item of ``sentences`` may itself hold several sentences; they
        are cut so the first clip is as short as possible.
        """
        for text in sentences:
            for sentence in split_sentences(text):
                yield self._sentence(sentence)

    def precompute(self, lines: Iterable[str], background: bool = True) -> None:
        """Synthesise every sentence of ``lines`` into the cache.

        With ``background`` the work runs in a daemon thread and this returns
        at once; a ``synthesize`` of a sentence being computed waits for it
        instead of computing it twice. :meth:`wait_precomputed` blocks until done.
        """
        sentences = [s for line in lines for s in split_sentences(line)]
        if not background:
            self._precompute(sentences)
            return
        self._stop.clear()
        self._precompute_thread = threading.Thread(target=self._precompute, args=(sentences,),
                                                   name="tts-precompute", daemon=True)
        _LIVE.add(self)
        self._precompute_thread.start()

    def close(self, timeout_s: float = PRECOMPUTE_STOP_WAIT_S) -> None:
        """Stop a background precompute after its current sentence, and wait for it.

        Call at the end of a session; it also runs at interpreter exit.
        """
        self._stop.set()
        thread = self._precompute_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def wait_precomputed(self, timeout_s: float | None = None) -> bool:
        """True once a background precompute has finished (or none was started)."""
        thread = self._precompute_thread
        if thread is not None:
            thread.join(timeout_s)
            return not thread.is_alive()
        return True

    def is_cached(self, sentence: str) -> bool:
        return normalise_key(sentence) in self._cache

    def _precompute(self, sentences: list[str]) -> None:
        t = time.perf_counter()
        for done, sentence in enumerate(sentences):
            if self._stop.is_set():
                logger.info("precompute stopped with %d of %d sentences left", len(sentences) - done,
                            len(sentences))
                return
            try:
                self._sentence(sentence)
            except Exception as exc:  # a broken line must not kill the session; it fails again when spoken
                logger.warning("precompute failed for %r: %s", sentence[:40], exc)
        logger.info("precomputed %d sentences in %.1f s", len(sentences), time.perf_counter() - t)

    def _sentence(self, sentence: str) -> np.ndarray:
        key = normalise_key(sentence)
        while True:
            with self._cache_lock:
                if key in self._cache:
                    return self._cache[key]
                event = self._pending.get(key)
                if event is None:
                    event = self._pending[key] = threading.Event()
                    break
            event.wait()
        try:
            audio = self._from_disk(key)
            if audio is None:
                audio = self._run_piper(normalise_for_speech(sentence))
                self._to_disk(key, audio)
            audio.flags.writeable = False  # shared by every caller of this sentence
            with self._cache_lock:
                self._cache[key] = audio
            return audio
        finally:
            with self._cache_lock:
                self._pending.pop(key, None)
            event.set()

    def _run_piper(self, spoken: str) -> np.ndarray:
        voice = self.load()
        from piper.config import SynthesisConfig

        config = SynthesisConfig(length_scale=self.length_scale, noise_scale=self.noise_scale,
                                 noise_w_scale=self.noise_w_scale)
        t = time.perf_counter()
        with self._voice_lock:
            chunks = [c.audio_float_array for c in voice.synthesize(spoken, syn_config=config)]
        audio = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
        elapsed = time.perf_counter() - t
        self.synth_seconds += elapsed
        audio = trim_silence(audio, voice.config.sample_rate)
        logger.debug("synthesised %.2f s of speech in %.3f s: %r", audio.size / voice.config.sample_rate,
                     elapsed, spoken[:60])
        return audio

    def _disk_path(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        return self.cache_dir / self._voice_id / f"{digest}.npy"

    def _from_disk(self, key: str) -> np.ndarray | None:
        path = self._disk_path(key)
        if path is None or not path.is_file():
            return None
        try:
            return np.load(path).astype(np.float32)
        except (OSError, ValueError) as exc:  # a torn cache file is re-synthesised, not fatal
            logger.debug("ignoring cache file %s: %s", path, exc)
            return None

    def _to_disk(self, key: str, audio: np.ndarray) -> None:
        path = self._disk_path(key)
        if path is None:
            return
        try:
            from voice_interviewer.paths import open_private, private_dir

            private_dir(path.parent)
            tmp = path.with_suffix(".tmp.npy")
            with open_private(tmp, "wb") as f:  # 0600 like every file in the data folder
                np.save(f, audio)
            tmp.replace(path)
        except (OSError, UserError) as exc:  # a full disk only loses the cache
            logger.debug("cannot write cache %s: %s", path, exc)
