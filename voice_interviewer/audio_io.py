"""Decode any recording a user has into 16 kHz mono float32.

Everything downstream (VAD, Whisper, onset refinement) works on
``float32`` samples in [-1, 1] at :data:`SAMPLE_RATE`; this module is the one
edge where files of any format, rate and channel count are converted.

Decoding goes through PyAV (FFmpeg, bundled with faster-whisper), which reads
wav, flac, ogg/vorbis, ogg/opus, mp3, m4a/aac and more, and resamples with
libswresample (band-limited, not sample dropping). WAV files get a tolerant
path first: a recorder that was killed leaves a RIFF header whose sizes are
stale or zero, and we read the samples that are actually on disk rather than
trusting the header.

Every failure is a :class:`UserError` with one line naming the file.
"""

from __future__ import annotations

import io
import logging
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_interviewer.errors import UserError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000

# WAVE format tags we can read as PCM (integer or IEEE float). 0xFFFE is
# WAVE_FORMAT_EXTENSIBLE, whose real tag is in the extension; PyAV handles it.
_PCM_FORMAT_TAGS = (1, 3, 0xFFFE)
# A text file misnamed .wav is the commonest "audio" that is not audio; how
# many leading bytes we look at to say so instead of an FFmpeg error code.
_SNIFF_BYTES = 512


def load_audio(path: str | Path) -> np.ndarray:
    """Read ``path`` as mono float32 at 16 kHz (stereo is averaged).

    Raises :class:`UserError` for a missing file, a directory, an empty file,
    a file that is not audio, or audio that cannot be decoded.
    """
    path = Path(path).expanduser()
    raw_head = _check_readable_file(path)
    started = time.perf_counter()

    if raw_head[:4] == b"RIFF" and raw_head[8:12] == b"WAVE":
        source = io.BytesIO(_repaired_wav_bytes(path))
    else:
        _reject_text(path, raw_head)
        source = str(path)
    audio_float32 = _decode(path, source)

    if audio_float32.size == 0:
        raise UserError(f"{path}: contains no audio samples")
    logger.info(
        "decoded %s: %.1f s of audio in %.2f s",
        path.name, audio_float32.size / SAMPLE_RATE, time.perf_counter() - started,
    )
    return audio_float32


def audio_duration_s(audio: np.ndarray | str | Path, sample_rate: int = SAMPLE_RATE) -> float:
    """Length in seconds of a sample array, or of an audio file (probed, not decoded)."""
    if isinstance(audio, np.ndarray):
        return audio.shape[0] / float(sample_rate)
    path = Path(audio).expanduser()
    raw_head = _check_readable_file(path)
    if raw_head[:4] == b"RIFF" and raw_head[8:12] == b"WAVE":
        info = _parse_wav(path, path.read_bytes())
        return info.frames / float(info.sample_rate)
    _reject_text(path, raw_head)
    return _probe_duration_s(path)


# ------------------------------------------------------------------ checks


def _check_readable_file(path: Path) -> bytes:
    """The file's first bytes, after the checks that need no decoder."""
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not an audio file")
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not head:
        raise UserError(f"{path}: empty file")
    return head


def _reject_text(path: Path, head: bytes) -> None:
    if _looks_like_text(head):
        raise UserError(f"{path}: not an audio file (it contains text)")


def _looks_like_text(head: bytes) -> bool:
    # Audio containers start with binary magic (RIFF, fLaC, OggS, ID3, ftyp,
    # 0xFFFx frame sync); none of them decodes as NUL-free UTF-8 text.
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the sniff window is still text.
        if exc.start < len(head) - 4:
            return False
        text = head[: exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * max(len(text), 1)


# --------------------------------------------------------------------- WAV


@dataclass
class _WavInfo:
    fmt_tag: int
    channels: int
    sample_rate: int
    block_align: int  # bytes per frame (all channels)
    data_offset: int  # where the samples start in the file
    data_bytes: int  # what is actually on disk, whole frames only

    @property
    def frames(self) -> int:
        return self.data_bytes // self.block_align


def _parse_wav(path: Path, raw: bytes) -> _WavInfo:
    """Walk the RIFF chunks, trusting the file's length over stale chunk sizes."""
    pos, fmt = 12, None
    while pos + 8 <= len(raw):
        chunk_id, chunk_size = raw[pos:pos + 4], struct.unpack("<I", raw[pos + 4:pos + 8])[0]
        body_at = pos + 8
        if chunk_id == b"fmt ":
            if body_at + 16 > len(raw):
                break
            fmt = struct.unpack("<HHIIHH", raw[body_at:body_at + 16])
        elif chunk_id == b"data":
            if fmt is None:
                raise UserError(f"{path}: damaged WAV (data before the format chunk)")
            return _wav_info(path, fmt, body_at, raw)
        pos = body_at + chunk_size + (chunk_size & 1)
    if fmt is None:
        raise UserError(f"{path}: truncated WAV (the header ends before the format chunk)")
    raise UserError(f"{path}: truncated WAV (no audio data after the header)")


def _wav_info(path: Path, fmt: tuple, data_offset: int, raw: bytes) -> _WavInfo:
    fmt_tag, channels, sample_rate, _byte_rate, block_align, bits = fmt
    if fmt_tag not in _PCM_FORMAT_TAGS:
        # Compressed WAV (ADPCM, GSM...): let FFmpeg try as-is, sizes included.
        return _WavInfo(fmt_tag, channels, sample_rate, max(block_align, 1), data_offset, len(raw) - data_offset)
    if channels < 1 or sample_rate < 1 or bits not in (8, 16, 24, 32, 64) or block_align != channels * bits // 8:
        raise UserError(f"{path}: damaged WAV header ({channels} channels, {sample_rate} Hz, {bits}-bit)")
    on_disk = _data_bytes_on_disk(raw, data_offset)
    whole_frames_bytes = on_disk - on_disk % block_align
    if whole_frames_bytes == 0:
        raise UserError(f"{path}: contains no audio samples")
    return _WavInfo(fmt_tag, channels, sample_rate, block_align, data_offset, whole_frames_bytes)


def _data_bytes_on_disk(raw: bytes, data_offset: int) -> int:
    """How many bytes of the data chunk are really there.

    A killed recorder leaves the stated size stale: 0, or short of what it
    wrote after the last header refresh, or past the end of a cut-off file. We
    trust the stated size only when it fits in the file and is followed by the
    end of file or another chunk (LIST, id3 ...), never by more samples.
    """
    stated = struct.unpack("<I", raw[data_offset - 4:data_offset])[0]
    on_disk = len(raw) - data_offset
    if 0 < stated <= on_disk:
        after = data_offset + stated + (stated & 1)
        next_id = raw[after:after + 4]
        if after >= len(raw) or (len(next_id) == 4 and next_id.isascii() and next_id.strip(b" ").isalnum()):
            return stated
    return on_disk


def _repaired_wav_bytes(path: Path) -> bytes:
    """The WAV with RIFF and data sizes rewritten to match what is on disk."""
    raw = path.read_bytes()
    info = _parse_wav(path, raw)
    stated = struct.unpack("<I", raw[info.data_offset - 4:info.data_offset])[0]
    end = info.data_offset + info.data_bytes
    if stated != info.data_bytes and info.fmt_tag in _PCM_FORMAT_TAGS:
        logger.warning(
            "%s: WAV header says %d data bytes but %d are on disk; reading what is there "
            "(a recorder that was stopped abruptly leaves such files)",
            path, stated, info.data_bytes,
        )
    fixed = bytearray(raw[:end])
    fixed[4:8] = struct.pack("<I", end - 8)
    fixed[info.data_offset - 4:info.data_offset] = struct.pack("<I", info.data_bytes)
    return bytes(fixed)


# ----------------------------------------------------------------- decoding


def _decode(path: Path, source: str | io.BytesIO) -> np.ndarray:
    import av
    from faster_whisper import decode_audio

    try:
        audio = decode_audio(source, sampling_rate=SAMPLE_RATE)
    except (av.error.FFmpegError, IndexError, ValueError) as exc:
        # IndexError: the container opened but holds no audio stream.
        raise UserError(f"{path}: cannot decode audio ({_one_line(exc)})") from None
    return np.ascontiguousarray(audio, dtype=np.float32)


def _probe_duration_s(path: Path) -> float:
    import av

    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise UserError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / 1_000_000.0  # av.time_base is microseconds
    except av.error.FFmpegError as exc:
        raise UserError(f"{path}: cannot decode audio ({_one_line(exc)})") from None
    return audio_duration_s(load_audio(path))


def _one_line(exc: BaseException) -> str:
    # FFmpeg errors carry "[Errno 1094995529] ...: 'file'"; the message alone reads better.
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return " ".join(text.split())
