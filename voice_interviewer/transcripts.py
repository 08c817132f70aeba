"""Transcripts a user already has: WebVTT (.vtt) and SubRip (.srt).

Video-call tools export captions in these formats; replaying one skips speech
recognition entirely. Each cue becomes one :class:`Utterance` (or one per
speaker, when a cue holds several speakers' lines).

Speakers are read from WebVTT voice spans (``<v Alice>...``) and from a name
prefix (``Alice: ...``, ``ALICE SMITH: ...``). A transcript without speaker
names is all the candidate's. With names, a speaker called "interviewer" or
"candidate" takes that role; otherwise the ``candidate`` argument names the
candidate, or, failing that, whoever speaks the most words is taken to be the
candidate (the interviewer briefs and answers; the candidate does most of the
talking) and everyone else is the interviewer. The name itself is kept on
each utterance as ``speaker_name`` (an attribute, not a dataclass field).

Captions carry no word times. The words of a cue get times spread evenly over
the cue, so a word's time is only as good as the cue's; an utterance's onset
is its cue's start, which is what the exporting tool measured.
"""

from __future__ import annotations

import codecs
import html
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from voice_interviewer.errors import UserError
from voice_interviewer.utterances import CANDIDATE, INTERVIEWER, Utterance, Word

logger = logging.getLogger(__name__)

SUFFIXES = (".vtt", ".srt")

# 01:02:03.456, 02:03.456, and SRT's 01:02:03,456. Hours may have any width.
_TIME = r"(?:(\d+):)?([0-5]?\d):([0-5]\d)[.,](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>", re.IGNORECASE)
_TAG = re.compile(r"</?[^>]*>")  # <i>, </b>, <c.yellow>, <00:00:01.000>, </v>
_SRT_STYLE = re.compile(r"\{\\[^}]*\}")  # {\an8}
# "Alice:", "Alice Smith:", "DR. SMITH:", "- Bob:" at the start of a line; at
# most three words, no digits, each word capitalised, so "Step 1: roll back"
# and "so: roll back" stay text.
_NAME_PREFIX = re.compile(r"^\s*-?\s*((?:[A-Z][\w.'\-]*)(?:\s+[A-Z][\w.'\-]*){0,2})\s*:\s+(?=\S)")
_ROLE_NAMES = {"interviewer": INTERVIEWER, "candidate": CANDIDATE}
# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass
class _Line:
    speaker: str | None
    text: str


@dataclass
class _Cue:
    start_s: float
    end_s: float
    lines: list[_Line]
    line_no: int


def read_transcript(path: str | Path, candidate: str | None = None) -> list[Utterance]:
    """Utterances from a .vtt or .srt file, in cue order; raises UserError if malformed."""
    path = Path(path).expanduser()
    text = _read_text(path)

    cues = _parse_vtt(path, text) if path.suffix.lower() == ".vtt" else _parse_srt(path, text)
    if not cues:
        raise UserError(f"{path}: no cues found (expected 'HH:MM:SS.mmm --> HH:MM:SS.mmm' lines)")

    utterances = [u for cue in cues for u in _cue_utterances(cue)]  # a cue with no text gives none
    if not utterances:
        raise UserError(f"{path}: no speech found (all {len(cues)} cue(s) are empty)")
    _assign_roles(path, utterances, candidate)
    logger.info("read %d utterances from %s (%.1f s of transcript)",
                len(utterances), path.name, max(u.end_s for u in utterances))
    return utterances


# ----------------------------------------------------------------- reading


def _read_text(path: Path) -> str:
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a transcript")
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"{path}: not a transcript (expected .vtt or .srt)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    if not raw.strip():
        raise UserError(f"{path}: empty file")
    text = _decode(path, raw)
    if not text.strip():
        raise UserError(f"{path}: empty file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(path: Path, raw: bytes) -> str:
    """Text from a transcript's bytes: by its byte-order mark (UTF-32/16/8), else UTF-8, else an error.

    A UTF-16 file (Windows tools write them) must be decoded as UTF-16, or its
    mark shows up as "ÿþ" and every other byte as NUL. Nothing is guessed
    beyond that: decoding a non-UTF-8 file as Windows-1252 accepted binary and
    mis-encoded files as mojibake cues, so it is a clear error instead.
    """
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(codec)
            except UnicodeDecodeError:
                raise UserError(f"{path}: starts with a {codec.upper()} byte-order mark but is not "
                                f"{codec.upper()} text") from None
    if b"\x00" in raw[:4096]:
        raise UserError(f"{path}: not a text file (NUL bytes; a UTF-16 file needs a byte-order mark)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}: 0x{raw[exc.start]:02x}); "
                        "save the transcript as UTF-8 or UTF-16") from None


def _parse_vtt(path: Path, text: str) -> list[_Cue]:
    blocks = _blocks(text)
    first_line = blocks[0][0][1] if blocks else ""
    if not first_line.startswith("WEBVTT"):
        raise UserError(f"{path}: not a WebVTT file (line 1 must start with WEBVTT)")
    cues = []
    for block in blocks[1:]:
        head = block[0][1]
        if head.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in head:
            continue
        timing_at = next((i for i, (_, line) in enumerate(block) if "-->" in line), None)
        if timing_at is None or timing_at > 1:
            raise UserError(f"{path}: line {block[0][0]}: expected a cue timing line "
                            "'HH:MM:SS.mmm --> HH:MM:SS.mmm'")
        cues.append(_cue(path, block[timing_at:]))
    return cues


def _parse_srt(path: Path, text: str) -> list[_Cue]:
    cues = []
    for block in (cue for block in _blocks(text) for cue in _split_srt_block(block)):
        timing_at = next((i for i, (_, line) in enumerate(block) if "-->" in line), None)
        if timing_at is None or timing_at > 1 or (timing_at == 1 and not block[0][1].strip().isdigit()):
            raise UserError(f"{path}: line {block[0][0]}: expected a cue number and a timing line "
                            "'HH:MM:SS,mmm --> HH:MM:SS,mmm'")
        cues.append(_cue(path, block[timing_at:]))
    return cues


def _split_srt_block(block: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """One block per cue: an empty cue followed by the next with no blank line between.

    Some exporters drop the blank line after a cue with no text, so the next
    cue's number and timing would be read as the empty cue's text.
    """
    starts = [0]
    for i in range(2, len(block)):
        if _TIMING.match(block[i][1]) and block[i - 1][1].strip().isdigit() and i - 1 > starts[-1]:
            starts.append(i - 1)
    return [block[a:b] for a, b in zip(starts, starts[1:] + [len(block)])]


def _blocks(text: str) -> list[list[tuple[int, str]]]:
    """Blank-line separated blocks of (line number, line)."""
    blocks, current = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            current.append((number, line.rstrip()))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _cue(path: Path, block: list[tuple[int, str]]) -> _Cue:
    line_no, timing = block[0]
    match = _TIMING.match(timing)
    if not match:
        raise UserError(f"{path}: line {line_no}: bad cue timing {timing.strip()!r}")
    start_s, end_s = _seconds(match.groups()[:4]), _seconds(match.groups()[4:])
    if end_s < start_s:
        raise UserError(f"{path}: line {line_no}: cue ends ({end_s:.3f} s) before it starts ({start_s:.3f} s)")
    lines = [_text_line(line) for _, line in block[1:]]
    return _Cue(start_s, end_s, [ln for ln in lines if ln.text], line_no)


def _seconds(groups: tuple) -> float:
    hours, minutes, seconds, fraction = groups
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0")) / 1000.0


def _text_line(line: str) -> _Line:
    speaker = None
    voice = _VOICE.search(line)
    if voice:
        speaker = voice.group(1).strip()
    clean = html.unescape(_TAG.sub("", _SRT_STYLE.sub("", line))).replace("\u00a0", " ")
    clean = " ".join(clean.split())
    if speaker is None:
        prefix = _NAME_PREFIX.match(clean)
        if prefix:
            speaker, clean = prefix.group(1), clean[prefix.end():]
    return _Line(speaker, clean)


# -------------------------------------------------------------- utterances


def _cue_utterances(cue: _Cue) -> list[Utterance]:
    """One utterance per run of lines by the same speaker; cue time shared by word count."""
    groups: list[_Line] = []
    for line in cue.lines:
        if groups and (line.speaker is None or line.speaker == groups[-1].speaker):
            groups[-1] = _Line(groups[-1].speaker, f"{groups[-1].text} {line.text}")
        else:
            groups.append(_Line(line.speaker, line.text))
    total_words = sum(len(g.text.split()) for g in groups)
    if total_words == 0:
        return []
    per_word_s = (cue.end_s - cue.start_s) / total_words
    utterances, t_s = [], cue.start_s
    for group in groups:
        tokens = group.text.split()
        # Evenly spread: captions carry no word times (see the module docstring).
        words = [Word(t_s + i * per_word_s, t_s + (i + 1) * per_word_s, token) for i, token in enumerate(tokens)]
        end_s = t_s + len(tokens) * per_word_s
        utterance = Utterance(start_s=t_s, end_s=end_s, text=group.text, words=words)
        utterance.speaker_name = group.speaker
        utterances.append(utterance)
        t_s = end_s
    return utterances


def _assign_roles(path: Path, utterances: list[Utterance], candidate: str | None) -> None:
    names = [u.speaker_name for u in utterances if u.speaker_name]
    if not names:
        return  # no speakers named: everything is the candidate's (the Utterance default)
    previous = None
    for u in utterances:  # a cue without a name continues the speaker before it
        u.speaker_name = u.speaker_name or previous
        previous = u.speaker_name
    roles = {name: _ROLE_NAMES[name.lower()] for name in set(names) if name.lower() in _ROLE_NAMES}
    if candidate is not None:
        if candidate not in names:
            raise UserError(f"{path}: no speaker named {candidate!r} (speakers: {', '.join(sorted(set(names)))})")
        chosen = candidate
    elif CANDIDATE in roles.values():
        chosen = next(name for name, role in roles.items() if role == CANDIDATE)
    else:
        words = Counter()
        for u in utterances:
            if u.speaker_name and roles.get(u.speaker_name) != INTERVIEWER:
                words[u.speaker_name] += len(u.words)
        chosen = words.most_common(1)[0][0] if words else None
        if chosen is not None and len(set(names)) > 1:
            logger.info("%s: taking %r, who speaks the most, as the candidate", path.name, chosen)
    for u in utterances:
        if u.speaker_name is None or u.speaker_name == chosen:
            u.speaker = CANDIDATE
        else:
            u.speaker = INTERVIEWER
