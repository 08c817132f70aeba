"""Correct Whisper's word onsets from the audio itself.

Whisper's word timestamps come from cross-attention alignment, quantised to
20 ms and often off by far more: the first word after a long silence is
pulled early into the silence, and VAD padding (speech_pad_ms) shifts it
again. The mitigation clock is measured to that first word, so we look at the
audio near Whisper's estimate and find where speech really starts:

1. short-time energy of the pre-emphasised signal (a first difference, which
   removes hum and rumble) every 5 ms, against the local noise floor (a low
   percentile of the frames around the estimate, so it follows the room, not
   a global level);
2. a run of frames above a low threshold that reaches a high one marks a
   candidate onset (two thresholds: the high one rejects noise flicker, the
   low one places the onset at the soft start of the word, not at its peak);
3. Silero VAD probabilities at a 16 ms hop confirm that a candidate is
   speech rather than a click, a breath or a door;
4. when Silero also hears speech in the pause before the word (a TV, a
   colleague: background talk), the onset must rise above that background's
   loud frames, and is then walked back down the word's attack.

When the evidence is unclear (speech barely above the noise, no candidate,
no VAD confirmation) the Whisper estimate is kept: a refinement that cannot
tell should not move anything.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, fields, replace

import numpy as np

from voice_interviewer.utterances import Utterance, Word

logger = logging.getLogger(__name__)

SILERO_WINDOW_SAMPLES = 512  # at 16 kHz: Silero v5/v6 take exactly 32 ms windows
SILERO_SAMPLE_RATE = 16_000


@dataclass
class OnsetOptions:
    """How far from Whisper's estimate to look, and what counts as speech."""

    # Whisper pulls a first word early by up to ~1 s after a long silence
    # (more with VAD padding), and late by a few hundred ms.
    search_before_s: float = 1.5
    search_after_s: float = 1.0
    # Frames before the search window that also inform the noise floor.
    noise_context_s: float = 2.0
    frame_s: float = 0.020
    hop_s: float = 0.005
    # Noise floor: this percentile of the frames' energy in the window. The
    # window is mostly pause around a first word, so a low percentile is
    # noise even when some speech is included.
    noise_percentile: float = 10.0
    # Speech level: this percentile of the frames just after the estimate.
    speech_percentile: float = 90.0
    # Below this speech-over-noise ratio, energy cannot place an onset.
    min_snr_db: float = 8.0
    # The floor is never taken lower than this below the speech level: in
    # digital silence (a synthesised or gated recording) the floor is -120 dB
    # and "8 dB above it" would be any sample at all, a breath or a dither.
    max_span_db: float = 45.0
    # Low threshold above the floor (the onset itself): a fraction of the
    # speech-over-noise span, capped so that loud speech does not raise it
    # past the soft start of the first phoneme.
    low_fraction: float = 0.25
    low_cap_db: float = 8.0
    # High threshold (the run must reach it): a fraction of the span.
    high_fraction: float = 0.5
    # A run must last this long to be a word, not a click (a keyboard click
    # is 20-40 ms of energy; the shortest first words, "in", "so", ~100 ms).
    min_run_s: float = 0.08
    # Runs separated by less than this are one word (a stop consonant's gap).
    bridge_gap_s: float = 0.03
    # Silero must say speech inside the candidate run itself (from a little
    # before its start, Silero lags by about one window, to at most this far
    # after it): a click just before the word is its own run and gets no
    # confirmation from the speech that follows it.
    vad_threshold: float = 0.5
    vad_confirm_before_s: float = 0.05
    vad_confirm_after_s: float = 0.4
    # Background talk (a TV, a colleague, another call) passes both the
    # energy test and Silero, and pulled onsets up to 2 s early in tests with
    # babble 15-20 dB under the voice. When Silero hears speech in more than
    # this share of the pause before the search window, the onset must rise
    # above that background's loud frames (this percentile, plus a margin),
    # or the estimate is kept.
    background_speech_share: float = 0.3
    background_percentile: float = 95.0
    background_margin_db: float = 3.0
    min_background_s: float = 0.3
    # ... and a run must last this long: over background talk, bursts of the
    # background clear any threshold for a syllable, a voice close to the
    # microphone for a word.
    background_min_run_s: float = 0.16
    # The raised threshold finds a word late, on its loud part; from there we
    # walk back down the word's attack while the energy keeps falling, at
    # most this far, to where it rose out of the background.
    background_attack_s: float = 0.25


DEFAULT_OPTIONS = OnsetOptions()
_UTTERANCE_FIELDS = {f.name for f in fields(Utterance)}


def refine_onset_s(audio: np.ndarray, sample_rate: int, whisper_onset_s: float,
                   search_before_s: float | None = None, search_after_s: float | None = None,
                   not_before_s: float = 0.0, options: OnsetOptions = DEFAULT_OPTIONS) -> float:
    """The speech onset nearest Whisper's estimate, in seconds from the start of ``audio``.

    ``not_before_s`` bounds the search (the end of the previous word, so the
    onset cannot land in earlier speech). Returns ``whisper_onset_s`` itself
    when the audio gives no clear onset.
    """
    opts = options
    if search_before_s is not None or search_after_s is not None:
        opts = replace(opts, search_before_s=opts.search_before_s if search_before_s is None else search_before_s,
                       search_after_s=opts.search_after_s if search_after_s is None else search_after_s)
    duration_s = audio.shape[0] / float(sample_rate)
    lo_s = max(0.0, not_before_s, whisper_onset_s - opts.search_before_s)
    hi_s = min(duration_s, whisper_onset_s + opts.search_after_s)
    if hi_s - lo_s < opts.min_run_s:
        return whisper_onset_s

    onset_s = _energy_vad_onset_s(audio, sample_rate, whisper_onset_s, lo_s, hi_s, not_before_s, opts)
    if onset_s is None:
        return whisper_onset_s
    return onset_s


def refine_utterance_onsets(utterances: list[Utterance], audio: np.ndarray, sample_rate: int = SILERO_SAMPLE_RATE,
                            audio_start_s: float = 0.0, options: OnsetOptions = DEFAULT_OPTIONS) -> list[Utterance]:
    """Copies of ``utterances`` with each first word's start corrected from ``audio``.

    ``audio_start_s`` is where sample 0 of ``audio`` sits on the utterances'
    clock. The search for each onset stops at the previous utterance's last
    word. The first word keeps Whisper's original start in
    ``Utterance.whisper_onset_s`` (an attribute set here, not a dataclass field,
    so Utterance.to_json is unchanged); ``Utterance.start_s`` follows the word.
    """
    refined: list[Utterance] = []
    previous_end_s = 0.0
    moved = []
    for utt in utterances:
        if not utt.words:
            refined.append(utt)
            continue
        first = utt.words[0]
        whisper_s = first.start_s - audio_start_s
        onset_s = refine_onset_s(audio, sample_rate, whisper_s, not_before_s=previous_end_s, options=options)
        # Never past the first word's own end: the word must keep a length.
        onset_s = min(onset_s, max(whisper_s, first.end_s - audio_start_s - 0.02))
        new_first = Word(onset_s + audio_start_s, first.end_s, first.word, first.probability)
        new_utt = replace(utt, words=[new_first, *utt.words[1:]], start_s=new_first.start_s)
        for name, value in vars(utt).items():  # attributes others set (speaker_name, ...)
            if name not in _UTTERANCE_FIELDS:
                setattr(new_utt, name, value)
        # Refining twice must not lose Whisper's own time.
        new_utt.whisper_onset_s = getattr(utt, "whisper_onset_s", first.start_s)
        refined.append(new_utt)
        moved.append(abs(onset_s - whisper_s))
        previous_end_s = utt.words[-1].end_s - audio_start_s
    if moved:
        logger.info("refined %d utterance onsets from the audio: median shift %.2f s, largest %.2f s",
                    len(moved), float(np.median(moved)), max(moved))
    return refined


# ---------------------------------------------------------------- internals


def _energy_vad_onset_s(audio: np.ndarray, sample_rate: int, whisper_s: float, lo_s: float, hi_s: float,
                        not_before_s: float, opts: OnsetOptions) -> float | None:
    ctx_lo_s = max(0.0, lo_s - opts.noise_context_s)
    tail_s = min(audio.shape[0] / sample_rate, hi_s + opts.vad_confirm_after_s)
    first_sample = int(ctx_lo_s * sample_rate)
    segment = np.asarray(audio[first_sample:int(tail_s * sample_rate)], dtype=np.float32)
    energy_db, times_s = frame_energy_db(segment, sample_rate, opts.frame_s, opts.hop_s)
    if energy_db.size == 0:
        return None
    times_s = times_s + ctx_lo_s

    floor_db = float(np.percentile(energy_db, opts.noise_percentile))
    after = (times_s >= whisper_s) & (times_s <= hi_s + opts.vad_confirm_after_s)
    if not after.any():
        return None
    speech_db = float(np.percentile(energy_db[after], opts.speech_percentile))
    floor_db = max(floor_db, speech_db - opts.max_span_db)
    span_db = speech_db - floor_db
    if span_db < opts.min_snr_db:
        logger.debug("onset near %.2f s: speech only %.1f dB over noise, keeping Whisper's", whisper_s, span_db)
        return None
    low_db = floor_db + min(opts.low_fraction * span_db, opts.low_cap_db)
    high_db = floor_db + opts.high_fraction * span_db

    use_vad = sample_rate == SILERO_SAMPLE_RATE
    background_db = None
    if use_vad:
        vad_times_s, vad_probs = silero_probabilities(segment, sample_rate)
        vad_times_s = vad_times_s + ctx_lo_s
        background_db = _background_speech_db(energy_db, times_s, vad_times_s, vad_probs,
                                              max(ctx_lo_s, not_before_s), lo_s, opts)
        if background_db is not None:
            if speech_db - background_db < opts.min_snr_db:
                logger.debug("onset near %.2f s: voice only %.1f dB over background talk, keeping Whisper's",
                             whisper_s, speech_db - background_db)
                return None
            low_db = max(low_db, background_db + opts.background_margin_db)
            high_db = max(high_db, low_db)
            opts = replace(opts, min_run_s=max(opts.min_run_s, opts.background_min_run_s))

    runs = _runs(energy_db, low_db, high_db, opts)
    if any(times_s[f] < lo_s <= whisper_s <= times_s[l] for f, l in runs):
        # Sound already running at the window's start and through Whisper's
        # estimate: the word began earlier than we may look. Keep the estimate.
        return None
    candidates = [(f, l) for f, l in runs if lo_s <= times_s[f] <= hi_s]
    if not candidates:
        return None
    if not use_vad:
        # Silero runs at 16 kHz only; audio_io delivers 16 kHz, so this is a
        # caller's own array: trust the energy alone.
        return float(times_s[candidates[0][0]])
    for first, last in candidates:
        t_s = float(times_s[first])
        until_s = min(float(times_s[last]), t_s + opts.vad_confirm_after_s)
        near = (vad_times_s >= t_s - opts.vad_confirm_before_s) & (vad_times_s <= until_s)
        if near.any() and float(vad_probs[near].max()) >= opts.vad_threshold:
            if background_db is not None:
                t_s = float(times_s[_attack_start(energy_db, times_s, first, max(lo_s, not_before_s), opts)])
            logger.debug("onset near %.2f s -> %.3f s (floor %.1f dB, speech %.1f dB)", whisper_s, t_s,
                         floor_db, speech_db)
            return t_s
    return None


def _attack_start(energy_db: np.ndarray, times_s: np.ndarray, index: int, earliest_s: float,
                  opts: OnsetOptions) -> int:
    """Walk back from frame ``index`` while the (smoothed) energy keeps falling."""
    smoothed = np.convolve(energy_db, np.ones(3) / 3.0, mode="same")
    start = index
    while (start > 0 and smoothed[start - 1] < smoothed[start] and times_s[start - 1] >= earliest_s
           and times_s[index] - times_s[start - 1] <= opts.background_attack_s):
        start -= 1
    return start


def _background_speech_db(energy_db: np.ndarray, times_s: np.ndarray, vad_times_s: np.ndarray,
                          vad_probs: np.ndarray, start_s: float, end_s: float, opts: OnsetOptions) -> float | None:
    """The loud-frame level of the pause before the window, if Silero hears talk in it."""
    if end_s - start_s < opts.min_background_s:
        return None
    in_vad = (vad_times_s >= start_s) & (vad_times_s < end_s)
    in_energy = (times_s >= start_s) & (times_s < end_s)
    if not in_vad.any() or not in_energy.any():
        return None
    share = float(np.mean(vad_probs[in_vad] >= opts.vad_threshold))
    if share <= opts.background_speech_share:
        return None
    return float(np.percentile(energy_db[in_energy], opts.background_percentile))


def _runs(energy_db: np.ndarray, low_db: float, high_db: float, opts: OnsetOptions) -> list[tuple[int, int]]:
    """(first, last) frame of each run above ``low_db`` that reaches ``high_db`` and lasts."""
    above = np.flatnonzero(energy_db >= low_db)
    if above.size == 0:
        return []
    bridge = max(1, int(round(opts.bridge_gap_s / opts.hop_s)))
    min_run = max(1, int(round(opts.min_run_s / opts.hop_s)))
    breaks = np.flatnonzero(np.diff(above) > bridge + 1)
    firsts = np.concatenate(([above[0]], above[breaks + 1]))
    lasts = np.concatenate((above[breaks], [above[-1]]))
    return [(int(f), int(l)) for f, l in zip(firsts, lasts)
            if l - f + 1 >= min_run and energy_db[f:l + 1].max() >= high_db]


def frame_energy_db(samples_float32: np.ndarray, sample_rate: int, frame_s: float,
                    hop_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Energy in dB of the pre-emphasised signal per frame, and each frame's start time.

    A frame's time is where its window begins plus a quarter frame: the
    energy crosses a threshold once roughly that much of the window holds the
    new sound, which keeps the onset from reading early by half a frame.
    """
    emphasised = np.diff(samples_float32, prepend=samples_float32[:1]) if samples_float32.size else samples_float32
    frame = max(1, int(round(frame_s * sample_rate)))
    hop = max(1, int(round(hop_s * sample_rate)))
    if emphasised.shape[0] < frame:
        return np.empty(0), np.empty(0)
    count = 1 + (emphasised.shape[0] - frame) // hop
    power = np.square(emphasised.astype(np.float64))
    cumulative = np.concatenate(([0.0], np.cumsum(power)))
    starts = np.arange(count) * hop
    mean_power = (cumulative[starts + frame] - cumulative[starts]) / frame
    energy_db = 10.0 * np.log10(mean_power + 1e-12)
    times_s = (starts + frame / 4.0) / sample_rate
    return energy_db, times_s


def silero_probabilities(samples_float32: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Silero speech probability every 16 ms, and each window's centre time.

    Silero runs on fixed 32 ms windows; running it twice, the second time
    shifted by half a window, and interleaving gives a 16 ms hop.
    """
    if sample_rate != SILERO_SAMPLE_RATE:
        raise ValueError(f"Silero VAD needs {SILERO_SAMPLE_RATE} Hz audio, got {sample_rate}")
    model = _silero_model()
    half = SILERO_WINDOW_SAMPLES // 2
    passes = []
    for shift in (0, half):
        shifted = samples_float32[shift:]
        pad = (-shifted.shape[0]) % SILERO_WINDOW_SAMPLES
        padded = np.pad(shifted, (0, pad)).astype(np.float32)
        if padded.size == 0:
            passes.append(np.empty(0))
            continue
        passes.append(np.asarray(model(padded)).reshape(-1))
    count = min(passes[0].shape[0], passes[1].shape[0])
    probs = np.empty(2 * count)
    probs[0::2], probs[1::2] = passes[0][:count], passes[1][:count]
    times_s = (np.arange(2 * count) * half + half) / float(sample_rate)
    return times_s, probs


@functools.lru_cache(maxsize=1)
def _silero_model():
    from faster_whisper.vad import get_vad_model

    return get_vad_model()
