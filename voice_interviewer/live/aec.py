"""Echo cancelling: the mic must not hear the interviewer as the candidate.

Two lines of defence:

1. :class:`EchoCanceller` wraps WebRTC's audio processing module from the
   ``livekit`` package (``livekit.rtc.AudioProcessingModule``): echo
   cancellation, noise suppression, high-pass filter, and no automatic gain
   control (it would pump the level the VAD thresholds were chosen on).
   Feed it every played 10 ms frame with ``process_reverse`` and every
   captured 10 ms with ``process_capture``.
   :class:`EchoCancelledInput` does both for you: it wraps an AudioInput and
   an AudioOutput and is itself an AudioInput whose frames are cleaned.
2. :func:`echo_text_match`: a transcript that mostly repeats the words the
   interviewer was saying at that moment is echo, not the candidate.

Measured in tests/test_aec.py (real speech, echo at -12 dB, 60 ms delay).
"""

from __future__ import annotations

import logging
import queue
import re

import numpy as np

from voice_interviewer.errors import UserError
from voice_interviewer.live.devices import FRAME_SAMPLES, PLAYED_FRAME_SAMPLES, SAMPLE_RATE, _Reframer

logger = logging.getLogger(__name__)


def _float_to_int16_bytes(samples_float32: np.ndarray) -> bytes:
    return (np.clip(samples_float32, -1.0, 32767 / 32768) * 32768.0).astype(np.int16).tobytes()


class EchoCanceller:
    """WebRTC APM at 16 kHz mono in 10 ms frames (PLAYED_FRAME_SAMPLES).

    ``stream_delay_ms``: the delay from handing a played frame to
    ``process_reverse`` to its echo reaching ``process_capture``: output
    latency + input latency of the devices (+ the acoustic path, ~1 ms).
    WebRTC's own delay estimator refines it; a good hint converges faster.
    """

    def __init__(self, stream_delay_ms: int = 0, noise_suppression: bool = True,
                 high_pass_filter: bool = True) -> None:
        try:
            from livekit import rtc
        except ImportError:
            raise UserError("echo cancelling needs the livekit package: pip install livekit") from None
        self._rtc = rtc
        self._apm = rtc.AudioProcessingModule(echo_cancellation=True, noise_suppression=noise_suppression,
                                              high_pass_filter=high_pass_filter, auto_gain_control=False)
        self.stream_delay_ms = int(round(stream_delay_ms))
        self._apm.set_stream_delay_ms(self.stream_delay_ms)
        self.reverse_frames = 0
        self.capture_frames = 0

    def _frame(self, samples_float32: np.ndarray):
        if samples_float32.size != PLAYED_FRAME_SAMPLES:
            raise ValueError(f"echo canceller frames are {PLAYED_FRAME_SAMPLES} samples, got {samples_float32.size}")
        return self._rtc.AudioFrame(_float_to_int16_bytes(samples_float32), SAMPLE_RATE, 1, PLAYED_FRAME_SAMPLES)

    def process_reverse(self, played_float32: np.ndarray) -> None:
        """One played 10 ms frame (160 float32 samples at 16 kHz)."""
        self._apm.process_reverse_stream(self._frame(played_float32))
        self.reverse_frames += 1

    def process_capture(self, mic_float32: np.ndarray) -> np.ndarray:
        """One captured 10 ms frame in, the cleaned frame out (float32)."""
        frame = self._frame(mic_float32)
        # WebRTC wants the delay hint before every capture frame it processes.
        self._apm.set_stream_delay_ms(self.stream_delay_ms)
        self._apm.process_stream(frame)
        self.capture_frames += 1
        return np.frombuffer(bytes(frame.data), dtype=np.int16).astype(np.float32) / 32768.0

    def process_capture_block(self, mic_float32: np.ndarray) -> np.ndarray:
        """A block that is a whole number of 10 ms frames, cleaned frame by frame."""
        n = mic_float32.size // PLAYED_FRAME_SAMPLES
        out = [self.process_capture(mic_float32[i * PLAYED_FRAME_SAMPLES:(i + 1) * PLAYED_FRAME_SAMPLES])
               for i in range(n)]
        return np.concatenate(out) if out else np.zeros(0, np.float32)


class EchoCancelledInput:
    """An AudioInput whose frames have the output's echo removed.

        mic = EchoCancelledInput(raw_mic, speakers)    # same interface as raw_mic
        mic.read(timeout_s)                            # cleaned FRAME_SAMPLES frames

    Subscribes to ``output``'s played frames at construction. Before cleaning
    a captured frame it feeds, as the reverse stream, every played frame
    handed to the device up to the moment that captured frame arrived (both
    stamped on the device clock): so a loop that falls behind reading the mic
    does not feed the canceller seconds of render ahead of its capture, which
    would look like a sudden change of echo delay. Inputs without stamps
    (files) get every played frame queued so far. It then cleans the captured
    audio in 10 ms pieces and re-frames it into
    FRAME_SAMPLES (512 is not a multiple of 160, so up to 10 ms is held back).
    ``canceller=None`` builds one whose delay hint is the two devices'
    latencies, read at :meth:`start` (they are known once the streams run).
    ``last_raw`` is the latest raw mic frame, for recording the uncleaned track.
    """

    def __init__(self, inner, output, canceller: EchoCanceller | None = None,
                 extra_delay_ms: float = 0.0) -> None:
        self.inner = inner
        self.output = output
        self.canceller = canceller
        self.extra_delay_ms = extra_delay_ms
        self._played = output.subscribe()
        self._held: list = []  # played frames newer than the capture being cleaned
        self._in10 = _Reframer(PLAYED_FRAME_SAMPLES)
        self._out512 = _Reframer(FRAME_SAMPLES)
        self._ready: list[np.ndarray] = []
        self.last_raw: np.ndarray | None = None

    @property
    def sample_rate_native(self) -> int:
        return self.inner.sample_rate_native

    @property
    def latency_s(self) -> float:
        return self.inner.latency_s

    @property
    def exhausted(self) -> bool:
        return self.inner.exhausted and not self._ready

    @property
    def last_frame_device_s(self) -> float | None:
        return getattr(self.inner, "last_frame_device_s", None)

    def start(self) -> None:
        self.inner.start()
        if self.canceller is None:
            delay_ms = (self.inner.latency_s + self.output.latency_s) * 1000 + self.extra_delay_ms
            self.canceller = EchoCanceller(stream_delay_ms=int(round(delay_ms)))
            logger.info("echo canceller on, delay hint %d ms", self.canceller.stream_delay_ms)

    def _feed_reverse(self, until_device_s: float | None) -> None:
        while True:
            if self._held:
                played = self._held[0]
            else:
                try:
                    played = self._played.get_nowait()
                except queue.Empty:
                    return
                self._held.append(played)
            if until_device_s is not None and played.device_s > until_device_s:
                return
            self._held.pop(0)
            self.canceller.process_reverse(played.samples_float32)

    def read(self, timeout_s: float | None = None) -> np.ndarray | None:
        if self.canceller is None:
            self.start()
        while not self._ready:
            raw = self.inner.read(timeout_s)
            if raw is None:
                return None
            self.last_raw = raw
            arrived_s = getattr(self.inner, "last_frame_device_s", None)
            for piece in self._in10.push(raw):
                self._feed_reverse(arrived_s)
                self._ready.extend(self._out512.push(self.canceller.process_capture(piece)))
        return self._ready.pop(0)

    def stop(self) -> None:
        self.inner.stop()


_WORD = re.compile(r"[a-z0-9']+")


def _tokens(text: str) -> list[str]:
    from voice_interviewer.live.textnorm import normalise_for_speech

    return _WORD.findall(normalise_for_speech(text).lower().replace("-", " "))


def _near(a: str, b: str) -> bool:
    """Same word, or one edit apart for words of 5+ letters (Whisper's deploy/deploys)."""
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def echo_text_match(candidate_text: str, interviewer_text: str, min_overlap: float = 0.6) -> bool:
    """True when ``candidate_text`` is mostly the interviewer's words: echo, not the candidate.

    Compares normalised word tokens: the fraction of the candidate's words
    found (exactly, or one edit apart for words of 5+ letters) among the
    interviewer's words must reach ``min_overlap``. A single word is never
    called echo (a genuine "okay" or "yes" matters more than a stray echoed
    word, which the echo canceller should have removed anyway); two words
    must be a run of the interviewer's words in order.
    """
    cand = _tokens(candidate_text)
    spoken = _tokens(interviewer_text)
    if len(cand) < 2 or not spoken:
        return False
    if len(cand) < 3:
        n = len(cand)
        return any(all(_near(c, s) for c, s in zip(cand, spoken[i:i + n])) for i in range(len(spoken) - n + 1))
    hits = sum(1 for c in cand if any(_near(c, s) for s in spoken))
    return hits / len(cand) >= min_overlap
