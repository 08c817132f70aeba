"""Audio in and out: one interface, three implementations.

Interface (see the two Protocols below):

    mic = SoundDeviceInput(device=None)        # or FileInput(path), pair.input
    spk = SoundDeviceOutput(device=None, clock=session_clock.now_s)   # or FileOutput, NullOutput, pair.output
    played = spk.subscribe()                   # queue.Queue[PlayedFrame]: every 10 ms played, idle too
    spk.start(); mic.start()
    frame = mic.read(timeout_s=0.1)            # float32 mono 16 kHz, FRAME_SAMPLES long, or None
    line_id = spk.play(clip, rate, new_line=True)   # a line's first sentence (any rate)
    spk.play(clip2, rate, new_line=False)      # ... and the rest of the line
    spk.is_playing, spk.playback_position_s    # of the current line
    heard = spk.stop_playback()                # barge-in: 16 kHz samples of the line heard
    mic.stop(); spk.stop()

Echo cancelling wraps an input: ``aec.EchoCancelledInput(mic, spk)``.

Implementations:

- :class:`SoundDeviceInput` / :class:`SoundDeviceOutput`: PortAudio through
  sounddevice (imported lazily: replay works without PortAudio), at the
  device's native rate, resampled at this edge.
- :class:`FileInput` (a recording played as if it were the mic, in real time
  or as fast as it is read), :class:`FileOutput` and :class:`NullOutput`
  (record what is played; playback runs on a clock).
- :class:`VirtualDevicePair`: an in-process mic and speakers on one virtual
  clock for fast tests, with an optional echo leak from the speakers into the
  mic at a gain and delay, like laptop speakers.

Device failures (unplugged, stream died) are raised from ``read`` /
``play`` as :class:`AudioDeviceError`, a :class:`UserError` with one line.

``main(args)`` is ``voice-interviewer devices``.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from voice_interviewer.errors import UserError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
"""Rate of every analysis buffer (mic frames, played frames)."""
FRAME_SAMPLES = 512
"""Mic frame length at 16 kHz: 32 ms, the window Silero VAD takes."""
PLAYED_FRAME_SAMPLES = 160
"""Played frames are 10 ms at 16 kHz: the block WebRTC's APM takes."""
PORTAUDIO_HINT = "PortAudio not found: apt-get install libportaudio2"


class AudioDeviceError(UserError):
    """The audio device failed mid-session (unplugged, stream died, no such device)."""


@dataclass(frozen=True)
class PlayedFrame:
    """10 ms of what the speakers played, for the echo canceller and interviewer.wav."""

    samples_float32: np.ndarray
    """PLAYED_FRAME_SAMPLES float32 samples at 16 kHz (zeros while idle)."""
    t_s: float
    """When the frame was handed to the device, on the output's clock (the session clock)."""
    line_id: int | None
    """Which play() line this frame belongs to; None for idle silence."""
    device_s: float = 0.0
    """The same moment on the device clock (time.monotonic for sound cards, the
    virtual clock for virtual devices); inputs stamp frames on it too, which
    is how the echo canceller pairs played frames with captured ones."""


@runtime_checkable
class AudioInput(Protocol):
    """A microphone: float32 mono 16 kHz frames of FRAME_SAMPLES."""

    sample_rate_native: int
    """The device's own rate (what PortAudio captures at)."""
    latency_s: float
    """Input latency the device reports (0 for files and virtual mics)."""
    exhausted: bool
    """True once no frame will ever come again (end of a file input)."""
    last_frame_device_s: float | None
    """When the frame last returned by read() finished arriving, on the device
    clock (see PlayedFrame.device_s); None for inputs not tied to an output."""

    def start(self) -> None:
        """Open the device and begin capturing."""

    def read(self, timeout_s: float | None = None) -> np.ndarray | None:
        """The next frame, or None if none arrived within ``timeout_s``.

        Raises AudioDeviceError if the device failed. Frames are never dropped
        by this call; if the reader falls behind, the capture queue overflows
        and ``overflows`` counts the lost blocks.
        """

    def stop(self) -> None:
        """Close the device; idempotent."""


@runtime_checkable
class AudioOutput(Protocol):
    """Speakers with line-level control for barge-in."""

    sample_rate_native: int
    latency_s: float
    """Output latency the device reports: time from hand-over to sound."""

    def start(self) -> None:
        """Open the device; it plays silence until a line is queued."""

    def play(self, samples: np.ndarray, sample_rate: int, new_line: bool | None = None) -> int:
        """Queue float32 mono audio (any rate) after whatever is queued; returns the line id.

        One interviewer line is several sentences, so a line is several
        play() calls: pass ``new_line=True`` for a line's first sentence and
        False for the rest. None (default) starts a new line only if the
        output is idle or the last line was stopped. Positions and
        stop_playback() count from the start of the current line.
        """

    def stop_playback(self) -> int:
        """Barge-in: silence within one block, drop the queue.

        Returns how many 16 kHz samples of the current line were actually
        heard (handed to the device minus what was still in its buffer).
        """

    @property
    def is_playing(self) -> bool:
        """True while any queued audio has not yet been handed to the device."""

    @property
    def playback_position_s(self) -> float:
        """Seconds of the current line heard so far (same measure as stop_playback)."""

    def subscribe(self, maxsize: int = 3000) -> "queue.Queue[PlayedFrame]":
        """A new queue that receives every PlayedFrame from now on.

        Each subscriber gets its own bounded queue (30 s of frames by
        default); a full queue drops its oldest frames, never blocks audio.
        """

    def stop(self) -> None:
        """Close the device; idempotent."""



# -- resampling at the edge ---------------------------------------------------

def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Whole-buffer polyphase resampling of float32 mono (scipy's resample_poly)."""
    samples = np.asarray(samples, dtype=np.float32)
    if from_rate == to_rate or samples.size == 0:
        return samples.copy()
    from scipy.signal import resample_poly

    up, down = _ratio(from_rate, to_rate)
    return resample_poly(samples, up, down, window=_fir(up, down)).astype(np.float32)


@functools.lru_cache(maxsize=16)
def _fir(up: int, down: int) -> np.ndarray:
    """resample_poly's own default filter, designed once per ratio.

    Designing it is most of resample_poly's cost for short blocks (8821 taps
    for 44.1 -> 16 kHz): a streaming resampler calling it every 20 ms would
    spend a quarter of a core on filter design alone.
    """
    from scipy.signal import firwin

    max_rate = max(up, down)
    return firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))


def _ratio(from_rate: int, to_rate: int) -> tuple[int, int]:
    from math import gcd

    g = gcd(int(from_rate), int(to_rate))
    return int(to_rate) // g, int(from_rate) // g


class StreamResampler:
    """Polyphase resampling of a stream in blocks of any size, seamless at block edges.

    Resampling each block on its own would put a filter transient at every
    block boundary (a click every 20 ms). Instead this keeps a context of
    past input, re-runs resample_poly over context + new block, and emits
    only output samples whose filter support lies inside the buffer. The
    buffer always starts on a multiple of ``down`` input samples, so local
    output indices land on the global output grid.
    """

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.up, self.down = _ratio(from_rate, to_rate)
        self.identity = self.up == self.down
        # resample_poly's default filter spans 10 * max(up, down) taps at the
        # upsampled rate each side, i.e. this many input samples each side.
        half_in = int(np.ceil(10 * max(self.up, self.down) / self.up)) + 2
        self._ctx_in = self._round_up(half_in)
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # global input index of _buf[0], a multiple of down
        self._next_out = 0  # next global output index to emit

    def _round_up(self, n: int) -> int:
        return -(-n // self.down) * self.down

    def process(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, dtype=np.float32)
        if self.identity:
            return block.copy()
        self._buf = np.concatenate([self._buf, block])
        return self._emit(final=False)

    def flush(self) -> np.ndarray:
        """The remaining output at end of stream (the tail as if followed by silence)."""
        if self.identity:
            return np.zeros(0, dtype=np.float32)
        return self._emit(final=True)

    def _emit(self, final: bool) -> np.ndarray:
        from scipy.signal import resample_poly

        buf_end = self._buf_start + self._buf.size
        # output k sits at input time k*down/up: emit those whose filter
        # support ends inside the buffer (at the end of stream: all of them).
        if final:
            last_out = -(-buf_end * self.up // self.down) - 1
        else:
            last_out = ((buf_end - self._ctx_in) * self.up) // self.down
        if last_out < self._next_out:
            return np.zeros(0, dtype=np.float32)
        y = resample_poly(self._buf, self.up, self.down, window=_fir(self.up, self.down))
        first_local = self._next_out - self._buf_start * self.up // self.down
        out = y[first_local:first_local + (last_out - self._next_out + 1)].astype(np.float32)
        self._next_out += out.size
        # keep enough input before the next output for its filter support
        next_in = (self._next_out * self.down) // self.up
        keep_from = max(self._buf_start, ((next_in - self._ctx_in) // self.down) * self.down)
        self._buf = self._buf[keep_from - self._buf_start:]
        self._buf_start = keep_from
        return out


class _Reframer:
    """Cut a stream of any block sizes into fixed frames."""

    def __init__(self, frame_samples: int) -> None:
        self.frame_samples = frame_samples
        self._pending = np.zeros(0, dtype=np.float32)

    def push(self, samples: np.ndarray) -> list[np.ndarray]:
        self._pending = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        n = self._pending.size // self.frame_samples
        frames = [self._pending[i * self.frame_samples:(i + 1) * self.frame_samples].copy() for i in range(n)]
        self._pending = self._pending[n * self.frame_samples:]
        return frames

    def flush_padded(self) -> np.ndarray | None:
        if self._pending.size == 0:
            return None
        frame = np.zeros(self.frame_samples, dtype=np.float32)
        frame[:self._pending.size] = self._pending
        self._pending = np.zeros(0, dtype=np.float32)
        return frame


def to_mono_float32(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.dtype == np.int16:
        return (samples.astype(np.float32) / 32768.0)
    return samples.astype(np.float32, copy=False)


# -- playback core shared by every output -------------------------------------

class _Playback:
    """The line queue behind every AudioOutput: render blocks, count what was heard.

    ``render(n)`` runs in the audio callback: it only copies arrays under a
    lock held for microseconds, and hands PlayedFrames to bounded queues
    with put_nowait, so it never waits on the loop.
    """

    STOP_FADE_S = 0.005  # a 5 ms ramp instead of a click when cut off

    def __init__(self, native_rate: int, clock: Callable[[], float], latency_s: float = 0.0,
                 device_clock: Callable[[], float] | None = None) -> None:
        self.native_rate = int(native_rate)
        self.clock = clock
        # What has drained from the device's buffer is a matter of real time,
        # whatever clock the session stamps its events with.
        self.device_clock = device_clock or clock
        self.latency_s = latency_s
        self._lock = threading.Lock()
        self._segments: list[list] = []  # [native_f32, s16_f32, pos_native]
        self._line_id = 0
        self._line_open = False
        self._line_handed_16k = 0
        self._last_render_t: float | None = None
        self._line_handed_t: float | None = None
        self._idle_carry = 0.0
        self._frame_acc = _Reframer(PLAYED_FRAME_SAMPLES)
        self._mask_acc = _Reframer(PLAYED_FRAME_SAMPLES)  # 1 where a sample belongs to a line
        self._subscribers: list[queue.Queue] = []
        self.rendered_native = 0

    def set_native_rate(self, native_rate: int) -> None:
        """The device's rate, once it is open; audio queued before then is resampled again."""
        with self._lock:
            if int(native_rate) == self.native_rate:
                return
            old_rate, self.native_rate = self.native_rate, int(native_rate)
            for seg in self._segments:
                seg[0] = resample(seg[0], old_rate, self.native_rate)
                seg[2] = int(seg[2] * self.native_rate / old_rate)

    # loop side
    def play(self, samples: np.ndarray, sample_rate: int, new_line: bool | None) -> int:
        samples = to_mono_float32(samples)
        native = resample(samples, sample_rate, self.native_rate)
        s16 = resample(samples, sample_rate, SAMPLE_RATE)
        with self._lock:
            idle = not self._segments and self._heard_locked() >= self._line_handed_16k
            if new_line or (new_line is None and (idle or not self._line_open)):
                self._line_id += 1
                self._line_handed_16k = 0
                self._line_handed_t = None
            self._line_open = True
            if native.size:
                self._segments.append([native, s16, 0])
            return self._line_id

    def stop(self) -> int:
        with self._lock:
            heard = self._heard_locked()
            if self._segments:
                seg = self._segments[0]
                fade_n = min(int(self.STOP_FADE_S * self.native_rate), seg[0].size - seg[2])
                fade = seg[0][seg[2]:seg[2] + fade_n] * np.linspace(1.0, 0.0, fade_n, dtype=np.float32)
                f16 = resample(fade, self.native_rate, SAMPLE_RATE)
                self._segments = [[fade, f16, 0]] if fade_n else []
            self._line_open = False
            return heard

    def subscribe(self, maxsize: int) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=maxsize)
        with self._lock:
            self._subscribers.append(q)
        return q

    @property
    def line_id(self) -> int:
        return self._line_id

    @property
    def is_playing(self) -> bool:
        with self._lock:
            if not self._line_open:
                return False
            return bool(self._segments) or self._heard_locked() < self._line_handed_16k

    def heard_16k(self) -> int:
        with self._lock:
            return self._heard_locked()

    def queued_s(self) -> float:
        with self._lock:
            return sum(seg[0].size - seg[2] for seg in self._segments) / self.native_rate

    def _heard_locked(self) -> int:
        # Counted from the last time samples of this line were handed over,
        # not the last callback: idle callbacks after the line's end must not
        # keep pushing "heard" back by the device latency.
        if self._line_handed_t is None:
            return 0
        drained = (self.device_clock() - self._line_handed_t) * SAMPLE_RATE
        heard = self._line_handed_16k - self.latency_s * SAMPLE_RATE + drained
        return int(max(0, min(self._line_handed_16k, heard)))

    # audio side
    def render(self, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.float32)
        pieces: list[np.ndarray] = []
        filled = 0
        with self._lock:
            line = self._line_id
            while filled < n and self._segments:
                seg = self._segments[0]
                native, s16, pos = seg
                take = min(n - filled, native.size - pos)
                out[filled:filled + take] = native[pos:pos + take]
                a16 = round(pos * s16.size / native.size)
                b16 = round((pos + take) * s16.size / native.size)
                pieces.append(s16[a16:b16])
                self._line_handed_16k += b16 - a16
                seg[2] = pos + take
                filled += take
                if seg[2] >= native.size:
                    self._segments.pop(0)
            self._last_render_t = self.device_clock()
            if filled:
                self._line_handed_t = self._last_render_t
            subscribers = list(self._subscribers)
        device_s = self._last_render_t
        t_s = self.clock() if self.clock is not self.device_clock else device_s
        line_16k = sum(p.size for p in pieces)
        idle = n - filled
        if idle:
            self._idle_carry += idle * SAMPLE_RATE / self.native_rate
            k = int(self._idle_carry)
            self._idle_carry -= k
            pieces.append(np.zeros(k, dtype=np.float32))
        self.rendered_native += n
        if subscribers and pieces:
            samples = np.concatenate(pieces)
            mask = np.zeros(samples.size, dtype=np.float32)
            mask[:line_16k] = 1.0
            for frame, frame_mask in zip(self._frame_acc.push(samples), self._mask_acc.push(mask)):
                played = PlayedFrame(frame, t_s, line if frame_mask.any() else None, device_s)
                for q in subscribers:
                    _put_dropping_oldest(q, played)
        return out


def _put_dropping_oldest(q: queue.Queue, item) -> None:
    try:
        q.put_nowait(item)
    except queue.Full:
        try:
            q.get_nowait()
        except queue.Empty:
            pass
        try:
            q.put_nowait(item)
        except queue.Full:
            pass


class _OutputBase:
    """AudioOutput methods over a _Playback; subclasses feed render() from somewhere."""

    _pb: _Playback
    sample_rate_native: int
    latency_s: float

    def play(self, samples: np.ndarray, sample_rate: int, new_line: bool | None = None) -> int:
        self._check()
        return self._pb.play(samples, sample_rate, new_line)

    def stop_playback(self) -> int:
        heard = self._pb.stop()
        logger.debug("playback stopped after %.2f s of line %d", heard / SAMPLE_RATE, self._pb.line_id)
        return heard

    @property
    def is_playing(self) -> bool:
        return self._pb.is_playing

    @property
    def playback_position_s(self) -> float:
        return self._pb.heard_16k() / SAMPLE_RATE

    @property
    def line_id(self) -> int:
        """Id of the current (or last) line."""
        return self._pb.line_id

    @property
    def queued_s(self) -> float:
        """Seconds of audio queued but not yet handed to the device."""
        return self._pb.queued_s()

    def subscribe(self, maxsize: int = 3000) -> "queue.Queue[PlayedFrame]":
        return self._pb.subscribe(maxsize)

    def _check(self) -> None:
        pass


# -- sounddevice ----------------------------------------------------------------

def import_sounddevice():
    """sounddevice, or a one-line UserError when PortAudio is missing."""
    try:
        import sounddevice
    except OSError:
        raise UserError(PORTAUDIO_HINT) from None
    except ImportError:
        raise UserError("sounddevice is not installed: pip install sounddevice") from None
    return sounddevice


def refresh_devices() -> None:
    """Re-scan audio devices: PortAudio lists them once, when it initialises.

    Needed after a sound server starts (or a headset is plugged in) while the
    process runs. Uses sounddevice's private re-initialisation, the only way
    it offers; streams must be closed first.
    """
    sd = import_sounddevice()
    sd._terminate()
    sd._initialize()


def resolve_device(device: int | str | None, kind: str) -> int | None:
    """A PortAudio device index for ``device`` (index, digits, or name substring); None = default.

    ``kind`` is "input" or "output". A name matches case-insensitively, exact
    name first, then the first device whose name contains it.
    """
    sd = import_sounddevice()
    if device is None or device == "":
        try:
            index = sd.default.device[0 if kind == "input" else 1]
            info = sd.query_devices(kind=kind)
        except (sd.PortAudioError, ValueError):
            raise AudioDeviceError(f"no {kind} device found (see `voice-interviewer devices`)") from None
        return None if index is None or index < 0 else int(info.get("index", index))
    devices = list(sd.query_devices())
    key = f"max_{kind}_channels"
    if isinstance(device, int) or (isinstance(device, str) and device.strip().isdigit()):
        index = int(device)
        if not 0 <= index < len(devices) or devices[index][key] < 1:
            raise AudioDeviceError(f"no {kind} device with index {index} (see `voice-interviewer devices`)")
        return index
    wanted = device.lower()
    candidates = [(i, d) for i, d in enumerate(devices) if d[key] > 0]
    for i, d in candidates:
        if d["name"].lower() == wanted:
            return i
    for i, d in candidates:
        if wanted in d["name"].lower():
            return i
    raise AudioDeviceError(f"no {kind} device named {device!r} (see `voice-interviewer devices`)")


def _open_stream(stream_class, max_channels: int, **kwargs):
    """A mono stream, or a stereo one where the device takes no mono (raw ALSA hw devices)."""
    import sounddevice as sd

    try:
        return stream_class(channels=1, **kwargs)
    except sd.PortAudioError:
        if max_channels < 2:
            raise
        logger.info("device refuses mono; opening 2 channels")
        return stream_class(channels=2, **kwargs)


class SoundDeviceInput:
    """The microphone through PortAudio.

    ``device``: index, name substring, or None for the default input.
    Captures at the device's default rate, mono (first channel), and
    resamples to 16 kHz FRAME_SAMPLES frames. ``overflows`` counts PortAudio
    input-overflow flags and blocks dropped because the reader fell behind.
    """

    def __init__(self, device: int | str | None = None, blocksize_ms: float = 20.0,
                 queue_s: float = 5.0) -> None:
        self.device = device
        self.blocksize_ms = blocksize_ms
        self.queue_s = queue_s
        self.sample_rate_native = SAMPLE_RATE
        self.latency_s = 0.0
        self.exhausted = False
        self.overflows = 0
        self.last_frame_device_s: float | None = None
        self._stream = None
        self._raw: queue.Queue | None = None
        self._failure: str | None = None
        self._stopping = False
        self._frames: list[tuple[np.ndarray, float]] = []
        self._reframer = _Reframer(FRAME_SAMPLES)
        self._resampler: StreamResampler | None = None

    def start(self) -> None:
        sd = import_sounddevice()
        self._stopping, self._failure = False, None
        index = resolve_device(self.device, "input")
        info = sd.query_devices(index, kind="input") if index is not None else sd.query_devices(kind="input")
        self.sample_rate_native = int(round(info["default_samplerate"]))
        blocksize = max(1, int(self.sample_rate_native * self.blocksize_ms / 1000))
        self._raw = queue.Queue(maxsize=max(4, int(self.queue_s * 1000 / self.blocksize_ms)))
        self._resampler = StreamResampler(self.sample_rate_native, SAMPLE_RATE)
        try:
            self._stream = _open_stream(sd.InputStream, info["max_input_channels"], device=index,
                                        samplerate=self.sample_rate_native, blocksize=blocksize,
                                        dtype="float32", callback=self._callback,
                                        finished_callback=self._finished)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"cannot open input device {info['name']!r}: {exc}") from None
        self.latency_s = float(self._stream.latency)
        logger.info("input %r at %d Hz, latency %.0f ms", info["name"], self.sample_rate_native,
                    self.latency_s * 1000)

    def _callback(self, indata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.overflows += 1
        try:
            self._raw.put_nowait((indata[:, 0].copy(), time.monotonic()))
        except queue.Full:
            self.overflows += 1

    def _finished(self) -> None:
        if not self._stopping:
            self._failure = "the input stream stopped (device unplugged?)"

    def read(self, timeout_s: float | None = None) -> np.ndarray | None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._frames:
            self._raise_if_failed()
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                block, arrived_s = self._raw.get(timeout=0.1 if remaining is None else min(remaining, 0.1))
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    self._raise_if_failed()
                    return None
                continue
            # frames completed by this block finished arriving with it (to within a block)
            self._frames.extend((f, arrived_s) for f in self._reframer.push(self._resampler.process(block)))
        frame, self.last_frame_device_s = self._frames.pop(0)
        return frame

    def _raise_if_failed(self) -> None:
        if self._failure:
            raise AudioDeviceError(f"audio input failed: {self._failure}")
        if self._stream is None:
            raise AudioDeviceError("input device not started")
        if self._failure is None and not self._stopping and not self._stream.active and self._raw.empty():
            self._failure = "the input stream is no longer active (device unplugged?)"
        if self._failure:
            raise AudioDeviceError(f"audio input failed: {self._failure}")

    def stop(self) -> None:
        self._stopping = True
        _close_stream(self._stream, "input")
        self._stream = None


class SoundDeviceOutput(_OutputBase):
    """The speakers through PortAudio, with barge-in.

    ``device``: index, name substring, or None for the default output.
    ``clock``: source of PlayedFrame.t_s (default time.monotonic; pass the
    session clock's now_s). ``underflows`` counts PortAudio underflow flags.
    """

    def __init__(self, device: int | str | None = None, blocksize_ms: float = 10.0,
                 clock: Callable[[], float] | None = None) -> None:
        self.device = device
        self.blocksize_ms = blocksize_ms
        self.clock = clock or time.monotonic
        self.sample_rate_native = SAMPLE_RATE
        self.latency_s = 0.0
        self.underflows = 0
        self._stream = None
        self._failure: str | None = None
        self._stopping = False
        self._pb = _Playback(SAMPLE_RATE, self.clock, device_clock=time.monotonic)

    def start(self) -> None:
        sd = import_sounddevice()
        self._stopping, self._failure = False, None
        index = resolve_device(self.device, "output")
        info = sd.query_devices(index, kind="output") if index is not None else sd.query_devices(kind="output")
        self.sample_rate_native = int(round(info["default_samplerate"]))
        # the same _Playback: queues subscribed before start() must keep receiving
        self._pb.set_native_rate(self.sample_rate_native)
        blocksize = max(1, int(self.sample_rate_native * self.blocksize_ms / 1000))
        try:
            self._stream = _open_stream(sd.OutputStream, info["max_output_channels"], device=index,
                                        samplerate=self.sample_rate_native, blocksize=blocksize,
                                        dtype="float32", callback=self._callback,
                                        finished_callback=self._finished)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"cannot open output device {info['name']!r}: {exc}") from None
        self.latency_s = float(self._stream.latency)
        self._pb.latency_s = self.latency_s
        logger.info("output %r at %d Hz, latency %.0f ms", info["name"], self.sample_rate_native,
                    self.latency_s * 1000)

    def _callback(self, outdata, frames, time_info, status) -> None:
        if status.output_underflow:
            self.underflows += 1
        block = self._pb.render(frames)
        for channel in range(outdata.shape[1]):  # mono on every channel of a stereo-only device
            outdata[:, channel] = block

    def _finished(self) -> None:
        if not self._stopping:
            self._failure = "the output stream stopped (device unplugged?)"

    def _check(self) -> None:
        if self._failure:
            raise AudioDeviceError(f"audio output failed: {self._failure}")
        if self._stream is None:
            raise AudioDeviceError("output device not started")
        if self._failure is None and not self._stopping and not self._stream.active:
            self._failure = "the output stream is no longer active (device unplugged?)"
        if self._failure:
            raise AudioDeviceError(f"audio output failed: {self._failure}")

    def stop(self) -> None:
        self._stopping = True
        _close_stream(self._stream, "output")
        self._stream = None


# -- files and null ---------------------------------------------------------------

def load_audio_16k(source: str | Path | np.ndarray) -> np.ndarray:
    """float32 mono 16 kHz from a path soundfile reads (else audio_io's decoder) or an array."""
    if isinstance(source, np.ndarray):
        return to_mono_float32(source)
    path = Path(source)
    if not path.is_file():
        raise UserError(f"{path}: no such audio file")
    try:
        import soundfile

        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception:
        try:
            from voice_interviewer.audio_io import load_audio
        except ImportError:
            raise UserError(f"{path}: cannot decode this audio file") from None
        return load_audio(path)
    return resample(to_mono_float32(data), rate, SAMPLE_RATE)


class FileInput:
    """A recording played as if it were the mic.

    ``source``: a path (any format soundfile reads) or float32 16 kHz
    samples. ``realtime=True`` paces frames by the wall clock at ``speed``
    times real time; False returns them as fast as they are read.
    ``tail_silence_s`` appends silence so the last turn can end. The last
    partial frame is zero-padded.
    """

    def __init__(self, source: str | Path | np.ndarray, realtime: bool = False,
                 speed: float = 1.0, tail_silence_s: float = 0.0) -> None:
        self.samples = load_audio_16k(source)
        if tail_silence_s > 0:
            self.samples = np.concatenate([self.samples, np.zeros(int(tail_silence_s * SAMPLE_RATE), np.float32)])
        self.realtime = realtime
        self.speed = speed
        self.sample_rate_native = SAMPLE_RATE
        self.latency_s = 0.0
        self.exhausted = False
        self.last_frame_device_s: float | None = None
        self._pos = 0
        self._t0: float | None = None

    @property
    def position_s(self) -> float:
        return self._pos / SAMPLE_RATE

    def start(self) -> None:
        self._t0 = time.monotonic()

    def read(self, timeout_s: float | None = None) -> np.ndarray | None:
        if self._pos >= self.samples.size:
            self.exhausted = True
            return None
        if self._t0 is None:
            self.start()
        if self.realtime:
            due = self._t0 + (self._pos + FRAME_SAMPLES) / SAMPLE_RATE / self.speed
            wait_s = due - time.monotonic()
            if timeout_s is not None and wait_s > timeout_s:
                time.sleep(max(0.0, timeout_s))
                return None
            if wait_s > 0:
                time.sleep(wait_s)
        frame = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        chunk = self.samples[self._pos:self._pos + FRAME_SAMPLES]
        frame[:chunk.size] = chunk
        self._pos += FRAME_SAMPLES
        if self._pos >= self.samples.size:
            self.exhausted = True
        return frame

    def stop(self) -> None:
        self.exhausted = True


class NullOutput(_OutputBase):
    """Speakers that play into nothing, at 16 kHz, advancing on ``clock``.

    Started on its own, a 10 ms ticker thread renders playback as the clock
    advances (real time with the default time.monotonic). Driven by a
    VirtualDevicePair, the pair renders it instead (``driven=True``).
    With ``record=True``, :meth:`recorded` returns everything rendered,
    silence included, so it lines up with the mic on the same timeline.
    """

    def __init__(self, clock: Callable[[], float] | None = None, record: bool = False,
                 driven: bool = False, latency_s: float = 0.0) -> None:
        self.clock = clock or time.monotonic
        self.sample_rate_native = SAMPLE_RATE
        self.latency_s = latency_s
        self.record = record
        self.driven = driven
        self._pb = _Playback(SAMPLE_RATE, self.clock, latency_s)
        self._chunks: list[np.ndarray] = []
        self._ticker: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._t_start: float | None = None

    def start(self) -> None:
        self._t_start = self.clock()
        if not self.driven and self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="null-output", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop_event.wait(0.01):
            due = int((self.clock() - self._t_start) * SAMPLE_RATE) - self._pb.rendered_native
            if due > 0:
                self.advance(due)

    def advance(self, n_samples: int) -> np.ndarray:
        """Play the next ``n_samples`` (16 kHz); returns what came out of the speakers."""
        block = self._pb.render(n_samples)
        if self.record:
            self._chunks.append(block)
        self._written(block)
        return block

    def _written(self, block: np.ndarray) -> None:
        pass

    def recorded(self) -> np.ndarray:
        """Everything played so far, 16 kHz float32 (needs record=True)."""
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)

    def stop(self) -> None:
        self._stop_event.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1.0)
            self._ticker = None


class FileOutput(NullOutput):
    """NullOutput that also writes what is played to a 16 kHz mono WAV at ``path``, as it plays."""

    def __init__(self, path: str | Path, clock: Callable[[], float] | None = None,
                 driven: bool = False) -> None:
        super().__init__(clock=clock, record=False, driven=driven)
        self.path = Path(path)
        self._file = None
        self._file_lock = threading.Lock()

    def start(self) -> None:
        import soundfile

        try:
            self._file = soundfile.SoundFile(str(self.path), "w", samplerate=SAMPLE_RATE, channels=1,
                                             subtype="PCM_16")
        except Exception as exc:
            raise UserError(f"{self.path}: cannot write audio ({exc})") from None
        super().start()

    def _written(self, block: np.ndarray) -> None:
        with self._file_lock:
            if self._file is not None:
                self._file.write(block)

    def stop(self) -> None:
        super().stop()
        with self._file_lock:
            if self._file is not None:
                self._file.close()
                self._file = None


# -- in-process virtual devices ----------------------------------------------------

class VirtualDevicePair:
    """An in-process mic and speakers on one virtual clock, for fast tests.

        pair = VirtualDevicePair(echo_gain_db=-12.0, echo_delay_ms=60.0, duration_s=90)
        pair.feed(candidate_16k, at_s=2.0)     # candidate speech into the mic
        mic, spk = pair.input, pair.output     # AudioInput / AudioOutput
        pair.clock()                           # virtual seconds since start

    Time advances by mic reads: each ``pair.input.read()`` first plays the
    next 32 ms on ``pair.output`` (its subscribers get the PlayedFrames),
    then returns the mic's 32 ms: the fed candidate audio plus, when
    ``echo_gain_db`` is set, what the speakers played ``echo_delay_ms``
    earlier at that gain (through ``echo_ir``, a room impulse response, when
    given), plus optional white noise at ``noise_dbfs``.
    ``speed=None`` runs as fast as the reader; a number paces reads at that
    multiple of real time. The mic is ``exhausted`` at ``duration_s`` (None:
    never; call ``close()``). ``on_read(t_s)``, if set, runs before each
    frame is mixed, so a test can react (feed a barge-in when the
    interviewer starts). ``pair.output.recorded()`` is the speakers' track;
    ``pair.mic_track()`` the mic's.
    """

    def __init__(self, echo_gain_db: float | None = None, echo_delay_ms: float = 60.0,
                 speed: float | None = None, duration_s: float | None = None,
                 noise_dbfs: float | None = None, seed: int = 0,
                 echo_ir: np.ndarray | None = None) -> None:
        self.echo_gain = None if echo_gain_db is None else float(10 ** (echo_gain_db / 20))
        self.echo_ir = None if echo_ir is None else np.asarray(echo_ir, dtype=np.float64)
        self._echo_zi = None if echo_ir is None else np.zeros(self.echo_ir.size - 1)
        self.echo_delay_samples = int(round(echo_delay_ms * SAMPLE_RATE / 1000))
        self.speed = speed
        self.duration_s = duration_s
        self.noise_rms = None if noise_dbfs is None else float(10 ** (noise_dbfs / 20))
        self._rng = np.random.default_rng(seed)
        self._samples_done = 0
        self._feeds: list[tuple[int, np.ndarray]] = []
        self._feed_end = 0
        self._feed_lock = threading.Lock()
        self._speaker_hist = np.zeros(self.echo_delay_samples, dtype=np.float32)
        self._mic_chunks: list[np.ndarray] = []
        self._closed = False
        self._wall_t0: float | None = None
        self.on_read: Callable[[float], None] | None = None
        self.output = NullOutput(clock=self.clock, record=True, driven=True)
        self.input = _VirtualMic(self)

    def clock(self) -> float:
        """Virtual seconds since start: mic samples produced / 16 kHz."""
        return self._samples_done / SAMPLE_RATE

    def feed(self, samples: np.ndarray, at_s: float | None = None) -> float:
        """Mix 16 kHz candidate audio into the mic from ``at_s`` (default: after the last feed, or now).

        Returns the virtual time the audio ends.
        """
        samples = to_mono_float32(samples)
        with self._feed_lock:
            start = (max(self._samples_done, self._feed_end) if at_s is None
                     else max(int(round(at_s * SAMPLE_RATE)), self._samples_done))
            self._feeds.append((start, samples))
            self._feed_end = max(self._feed_end, start + samples.size)
            return (start + samples.size) / SAMPLE_RATE

    @property
    def feed_end_s(self) -> float:
        return self._feed_end / SAMPLE_RATE

    def close(self) -> None:
        """End the mic: the next read returns None and ``exhausted`` becomes True."""
        self._closed = True

    def mic_track(self) -> np.ndarray:
        return np.concatenate(self._mic_chunks) if self._mic_chunks else np.zeros(0, np.float32)

    def _next_frame(self) -> np.ndarray | None:
        if self._closed or (self.duration_s is not None and self.clock() >= self.duration_s):
            self._closed = True
            return None
        if self.speed:
            if self._wall_t0 is None:
                self._wall_t0 = time.monotonic()
            due = self._wall_t0 + (self._samples_done + FRAME_SAMPLES) / SAMPLE_RATE / self.speed
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
        if self.on_read is not None:
            self.on_read(self.clock())
        start = self._samples_done
        played = self.output.advance(FRAME_SAMPLES)
        mic = self._mix_feeds(start)
        if self.echo_gain is not None:
            if self.echo_ir is not None:
                from scipy.signal import lfilter

                filtered, self._echo_zi = lfilter(self.echo_ir, [1.0], played, zi=self._echo_zi)
                played = filtered.astype(np.float32)
            hist = np.concatenate([self._speaker_hist, played])
            mic += self.echo_gain * hist[:FRAME_SAMPLES]
            self._speaker_hist = hist[FRAME_SAMPLES:]
        if self.noise_rms is not None:
            mic += self._rng.normal(0.0, self.noise_rms, FRAME_SAMPLES).astype(np.float32)
        self._samples_done += FRAME_SAMPLES
        self._mic_chunks.append(mic)
        return mic

    def _mix_feeds(self, start: int) -> np.ndarray:
        mic = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        end = start + FRAME_SAMPLES
        with self._feed_lock:
            keep = []
            for s, data in self._feeds:
                lo, hi = max(s, start), min(s + data.size, end)
                if hi > lo:
                    mic[lo - start:hi - start] += data[lo - s:hi - s]
                if s + data.size > end:
                    keep.append((s, data))
            self._feeds = keep
        return mic


def room_impulse_response(rt60_s: float = 0.3, length_s: float = 0.25, direct_to_reverb_db: float = 6.0,
                          seed: int = 0) -> np.ndarray:
    """A synthetic laptop-room echo path at 16 kHz with unit energy.

    The direct sound, then from 2 ms a diffuse tail: white noise under an
    exponential envelope falling 60 dB in ``rt60_s``, its energy
    ``direct_to_reverb_db`` below the direct path's (a laptop's mic sits near
    its speakers, so the direct path dominates). Unit energy keeps
    ``echo_gain_db`` the echo's true level. A pure delay-and-gain echo is too
    easy for any canceller; this makes the echo path something to learn.
    """
    rng = np.random.default_rng(seed)
    n = int(length_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.normal(0.0, 1.0, n) * np.exp(-6.9 * t / rt60_s)
    tail[:int(0.002 * SAMPLE_RATE)] = 0.0
    tail *= np.sqrt(10 ** (-direct_to_reverb_db / 10) / np.sum(tail ** 2))
    tail[0] = 1.0
    return tail / np.sqrt(np.sum(tail ** 2))


class _VirtualMic:
    """The mic side of a VirtualDevicePair."""

    def __init__(self, pair: VirtualDevicePair) -> None:
        self._pair = pair
        self.sample_rate_native = SAMPLE_RATE
        self.latency_s = 0.0

    @property
    def exhausted(self) -> bool:
        return self._pair._closed

    @property
    def last_frame_device_s(self) -> float:
        return self._pair.clock()

    def start(self) -> None:
        self._pair.output.start()

    def read(self, timeout_s: float | None = None) -> np.ndarray | None:
        return self._pair._next_frame()

    def stop(self) -> None:
        self._pair.close()


# -- voice-interviewer devices --------------------------------------------------------

def list_devices() -> tuple[list[dict], int | None, int | None]:
    """(devices, default input index, default output index) from PortAudio.

    Each device: index, name, hostapi, max_input_channels,
    max_output_channels, default_samplerate. Raises UserError when PortAudio
    is missing or sees no device.
    """
    sd = import_sounddevice()
    try:
        devices = [dict(d, index=i) for i, d in enumerate(sd.query_devices())]
        hostapis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise UserError(f"cannot list audio devices: {exc}") from None
    if not devices:
        raise UserError("no audio devices found (PortAudio sees none)")
    for d in devices:
        d["hostapi_name"] = hostapis[d["hostapi"]]["name"]
    default_in, default_out = (int(x) if x is not None and x >= 0 else None for x in sd.default.device)
    return devices, default_in, default_out


def main(args) -> int:
    """``voice-interviewer devices``: inputs and outputs with index, channels, rate; * marks defaults."""
    devices, default_in, default_out = list_devices()
    for title, key, default in (("inputs", "max_input_channels", default_in),
                                ("outputs", "max_output_channels", default_out)):
        rows = [d for d in devices if d[key] > 0]
        print(f"{title}:")
        if not rows:
            print("  (none)")
        for d in rows:
            mark = "*" if d["index"] == default else " "
            print(f" {mark}{d['index']:>3}  {d['name']}  ({d[key]} ch, {d['default_samplerate']:.0f} Hz, "
                  f"{d['hostapi_name']})")
    print("* = default; pass the index or part of the name to practice --input/--output")
    return 0


def _close_stream(stream, what: str) -> None:
    """Abort and close a PortAudio stream; closing a dead device must not hide the real error."""
    if stream is None:
        return
    try:
        stream.abort()
        stream.close()
    except Exception as exc:
        logger.debug("closing %s: %s", what, exc)
