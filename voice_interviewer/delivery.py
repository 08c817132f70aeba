"""How the candidate spoke, as opposed to what they said.

:func:`delivery_metrics` turns the utterances and the event log into the
``delivery`` block of report.json::

    candidate_speech_s      seconds the candidate was speaking (union of utterances)
    candidate_words         words the candidate said (fillers included)
    words_per_minute        candidate_words per minute of candidate speaking time
    filler_count            "um", "uh", "er", filler "like", "you know", "sort of" ...
    fillers_per_minute      filler_count per minute of candidate speaking time
    fillers_by_word         {"um": 3, "like": 1, ...}
    mitigation_utterances   candidate utterances that propose a mitigation
    hedge_count             hedges ("maybe", "I guess", "I think we could") in those
    hedged_mitigations      how many of those utterances carry at least one hedge
    first_mitigation_hedged whether the first concrete mitigation was hedged (None: no mitigation)
    hedges                  [{"t_s", "quote", "hedges": [...]}] one per hedged mitigation
    longest_silence_s       longest stretch with nobody speaking, between the first and last speech
    longest_silence_at_s    where that stretch starts (None when there is no gap)
    interviewer_speech_s    seconds the interviewer spoke (utterances or interviewer_* events)
    talk_ratio              candidate_speech_s / duration_s
    candidate_share         candidate_speech_s / (candidate + interviewer), None with no interviewer

Rates are per minute of *speaking* time, not of session time, so a candidate
who thinks in silence is not scored as a slow talker; silence has its own
figure. Whisper drops nearly every "um"/"uh" unless prompted with them (see
:func:`with_fillers`), so filler counts from a transcript are a floor.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable

from voice_interviewer import events as ev
from voice_interviewer.labels import CONCRETE_MITIGATION
from voice_interviewer.utterances import CANDIDATE, INTERVIEWER, Utterance

logger = logging.getLogger(__name__)

# An initial prompt written the way people talk, fillers included: Whisper
# imitates the style of its prompt, and without one it writes clean prose
# and drops nearly every "um"/"uh". The initial prompt only reaches the first
# 30-second window (stt.py does not condition on previous text), so the
# fillers go into the hotwords too, which faster-whisper puts before every
# window. Measured by tests/test_delivery.py on 107 s of rendered speech
# with 40 fillers (tiny.en): the scenario prompt alone kept 0, FILLER_PROMPT
# 14 (all in the first window), FILLER_PROMPT + FILLER_HOTWORDS 34; on the
# real-speech corpus WER went 7.6 % -> 5.8 % and no filler was invented
# (printed by the same tests).
FILLER_PROMPT = "Um, so, uh, I think we should, um, roll it back. Uh, let me check, hmm, the dashboards."
FILLER_HOTWORDS = "Um, uh,"


def with_fillers(prompt: str | None, hotwords: str | None) -> tuple[str, str]:
    """(initial prompt, hotwords) for stt.Transcriber that keep the candidate's fillers."""
    return (f"{FILLER_PROMPT} {prompt or ''}".strip(), f"{FILLER_HOTWORDS} {hotwords or ''}".strip())

# Sounds that are fillers wherever they appear.
_FILLER_SOUNDS = ("um", "umm", "uh", "uhh", "uhm", "erm", "er", "ah", "hmm", "mm")
# Words that are fillers only in some positions; see _filler_matches.
_DETERMINERS = frozenset(
    "a an the this that what which any some each every same one no another".split()
)
_LIKE_NOT_FILLER_BEFORE = frozenset(
    "looks look looked looking seems seem seemed sounds sound sounded feels feel felt "
    "would 'd i you we they something anything nothing more less just much things stuff".split()
)

# Hedges, longest first so "i think we could" is one hedge, not "i think" + "we could".
HEDGES = (
    "i think we could",
    "i think we should",
    "we could try",
    "i'm not sure",
    "im not sure",
    "not sure",
    "i suppose",
    "i guess",
    "i think",
    "i'd say",
    "kind of",
    "sort of",
    "might be",
    "we could",
    "maybe",
    "perhaps",
    "probably",
    "possibly",
    "hopefully",
    "might",
)
_HEDGE_RE = re.compile(r"\b(" + "|".join(re.escape(h).replace(r"\ ", r"\s+") for h in HEDGES) + r")\b")
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def delivery_metrics(
    utterances: Iterable[Utterance | dict[str, Any]],
    events: Iterable[ev.Event | dict[str, Any]] = (),
    duration_s: float | None = None,
) -> dict[str, Any]:
    """The delivery block of report.json (keys in the module docstring).

    ``utterances`` may mix candidate and interviewer speech; ``events`` adds
    interviewer airtime from interviewer_started/stopped/cut_off when the
    interviewer's lines are not utterances. Accepts objects or their JSON.
    """
    utts = sorted((_as_utterance(u) for u in utterances), key=lambda u: u.onset_s)
    evts = [_as_event(e) for e in events]
    candidate = [u for u in utts if u.speaker == CANDIDATE]

    candidate_intervals = _merge([(u.onset_s, u.end_s) for u in candidate])
    interviewer_intervals = _merge(
        [(u.onset_s, u.end_s) for u in utts if u.speaker == INTERVIEWER] + _interviewer_airtime(evts)
    )
    candidate_speech_s = _total(candidate_intervals)
    interviewer_speech_s = _total(interviewer_intervals)
    if duration_s is None:
        duration_s = max([u.end_s for u in utts] + [e.t_s for e in evts] + [0.0])

    words = fillers = 0
    by_word: dict[str, int] = {}
    for u in candidate:
        tokens = _tokens(u.text)
        words += len(tokens)
        for name in _filler_matches(tokens):
            fillers += 1
            by_word[name] = by_word.get(name, 0) + 1

    silence_s, silence_at_s = _longest_gap(_merge(candidate_intervals + interviewer_intervals))
    speaking_min = candidate_speech_s / 60.0
    result = {
        "candidate_speech_s": round(candidate_speech_s, 2),
        "candidate_words": words,
        "words_per_minute": round(words / speaking_min, 1) if speaking_min > 0 else None,
        "filler_count": fillers,
        "fillers_per_minute": round(fillers / speaking_min, 2) if speaking_min > 0 else None,
        "fillers_by_word": dict(sorted(by_word.items(), key=lambda kv: (-kv[1], kv[0]))),
        **_hedge_metrics(candidate),
        "longest_silence_s": round(silence_s, 2),
        "longest_silence_at_s": None if silence_at_s is None else round(silence_at_s, 2),
        "interviewer_speech_s": round(interviewer_speech_s, 2),
        "talk_ratio": round(candidate_speech_s / duration_s, 3) if duration_s > 0 else None,
        "candidate_share": (
            round(candidate_speech_s / (candidate_speech_s + interviewer_speech_s), 3)
            if interviewer_speech_s > 0
            else None
        ),
    }
    logger.info(
        "delivery: %s wpm, %d fillers, %d hedges, longest silence %.1f s",
        result["words_per_minute"], fillers, result["hedge_count"], silence_s,
    )
    return result


def count_fillers(text: str) -> dict[str, int]:
    """Filler words in one piece of text, by filler."""
    counts: dict[str, int] = {}
    for name in _filler_matches(_tokens(text)):
        counts[name] = counts.get(name, 0) + 1
    return counts


def find_hedges(text: str) -> list[str]:
    """The hedge phrases in ``text``, in order, normalised to single spaces."""
    low = _normalise(text)
    found = []
    for m in _HEDGE_RE.finditer(low):
        phrase = " ".join(m.group(1).split())
        before = low[: m.start()].split()
        if phrase in ("kind of", "sort of") and before and before[-1].strip(",.;:!?") in _DETERMINERS:
            continue  # "this kind of rollback" names a kind, it does not hedge
        found.append(phrase)
    return found


def is_mitigation(u: Utterance) -> bool:
    """A candidate line that proposes a mitigation: concrete, or of a mitigation kind."""
    return u.concrete_mitigation or CONCRETE_MITIGATION in u.labels or u.mitigation_kind is not None


def _hedge_metrics(candidate: list[Utterance]) -> dict[str, Any]:
    mitigations = [u for u in candidate if is_mitigation(u)]
    hedged = []
    for u in mitigations:
        found = find_hedges(u.text)
        if found:
            hedged.append({"t_s": round(u.onset_s, 2), "quote": u.text.strip(), "hedges": found})
    first = next((u for u in mitigations if u.concrete_mitigation or CONCRETE_MITIGATION in u.labels), None)
    return {
        "mitigation_utterances": len(mitigations),
        "hedge_count": sum(len(h["hedges"]) for h in hedged),
        "hedged_mitigations": len(hedged),
        "first_mitigation_hedged": None if first is None else bool(find_hedges(first.text)),
        "hedges": hedged,
    }


def _normalise(text: str) -> str:
    # Curly apostrophes from transcripts and editors would split "I'm" in two.
    return text.lower().replace("\u2019", "'")


def _tokens(text: str) -> list[tuple[str, str]]:
    """(word, punctuation that follows it) pairs, lower case."""
    low = _normalise(text)
    out = []
    for m in _TOKEN_RE.finditer(low):
        tail = low[m.end(): m.end() + 2].lstrip(" ")[:1]
        out.append((m.group(0), tail if tail in ",.;:!?-" else ""))
    return out


def _filler_matches(tokens: list[tuple[str, str]]) -> Iterable[str]:
    """Yield the filler found at each position.

    "like", "you know", "I mean", "sort of" and "kind of" are ordinary words
    most of the time ("looks like a deploy", "what kind of errors", "do you
    know if"), so they count only where they are set off as a filler: by a
    comma or at a clause edge. Counting every "like" would punish fluent
    speakers and make the figure useless.
    """
    i = 0
    n = len(tokens)
    while i < n:
        word, punct = tokens[i]
        prev_word, prev_punct = tokens[i - 1] if i > 0 else ("", ".")
        clause_start = i == 0 or prev_punct != ""
        nxt = tokens[i + 1][0] if i + 1 < n else ""
        if word in _FILLER_SOUNDS:
            yield "um" if word in ("umm", "uhm") else "uh" if word == "uhh" else word
        elif word == "like" and punct == "," and prev_word not in _LIKE_NOT_FILLER_BEFORE:
            # "we should, like, roll back" but not "looks like, well" or "errors like timeouts".
            yield "like"
        elif word == "you" and nxt == "know" and (tokens[i + 1][1] != "" or i + 2 == n):
            # "..., you know, ..." or a trailing "you know" but not "you know if/what".
            yield "you know"
            i += 1
        elif word == "i" and nxt == "mean" and clause_start and tokens[i + 1][1] == ",":
            yield "i mean"
            i += 1
        elif word in ("sort", "kind") and nxt == "of" and prev_word not in _DETERMINERS:
            yield f"{word} of"
            i += 1
        i += 1


def _as_utterance(u: Utterance | dict[str, Any]) -> Utterance:
    return u if isinstance(u, Utterance) else Utterance.from_json(u)


def _as_event(e: ev.Event | dict[str, Any]) -> ev.Event:
    return e if isinstance(e, ev.Event) else ev.Event.from_json(e)


def _interviewer_airtime(events: list[ev.Event]) -> list[tuple[float, float]]:
    """(start, end) of each interviewer line, pairing started with the next stopped or cut-off."""
    spans = []
    started_s = None
    for e in sorted(events, key=lambda e: e.t_s):
        if e.kind == ev.INTERVIEWER_STARTED:
            started_s = e.t_s if started_s is None else started_s
        elif e.kind in (ev.INTERVIEWER_STOPPED, ev.INTERVIEWER_CUT_OFF) and started_s is not None:
            spans.append((started_s, e.t_s))
            started_s = None
    return spans


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _total(spans: list[tuple[float, float]]) -> float:
    return sum(end - start for start, end in spans)


def _longest_gap(spans: list[tuple[float, float]]) -> tuple[float, float | None]:
    best_s, best_at = 0.0, None
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if start - end > best_s:
            best_s, best_at = start - end, end
    return best_s, best_at
