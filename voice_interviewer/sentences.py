"""Cutting interviewer text into sentences, whole or as it streams in.

Text-to-speech starts on the first complete sentence, so the cut must be
right while tokens are still arriving: "v2.3.1", "p99.9", "2.1 seconds",
"e.g. the pool" and "1:40 a.m." must not end a sentence, while "took 1.5 s. Then"
does. A full stop ends a
sentence only when whitespace follows and the next word does not start in
lower case; an abbreviation (``e.g.``, ``etc.``) never ends one, except
``a.m.``/``p.m.`` before a capital. When that decision needs a character that
has not arrived yet, :class:`SentenceStream` waits for it, so a streamed text
is cut exactly where the whole text would be.
"""

from __future__ import annotations

from typing import Iterable

_TERMINALS = ".!?"
_CLOSERS = "\"')]”’»"
_ABBREVIATIONS = frozenset({
    "e.g", "i.e", "etc", "vs", "approx", "mr", "mrs", "ms", "dr", "st", "no", "cf", "fig", "inc",
    "ltd", "jr", "sr", "min", "max", "sec", "est", "dept",
})
_CLOCK_ABBREVIATIONS = frozenset({"a.m", "p.m"})
# After a number these are units, not initials or titles: "1.5 s. What now?" ends.
_UNITS = frozenset({"s", "ms", "m", "h", "min", "sec", "k", "gb", "mb", "kb", "tb"})


class SentenceStream:
    """Feed token deltas; get back each sentence as soon as it is complete.

        stream = SentenceStream()
        for delta in deltas:
            for sentence in stream.feed(delta):
                speak(sentence)
        for sentence in stream.flush():   # the tail, when the text has ended
            speak(sentence)
    """

    def __init__(self) -> None:
        self._buffer = ""

    @property
    def pending(self) -> str:
        """Text received but not yet part of a complete sentence."""
        return self._buffer

    def feed(self, delta: str) -> list[str]:
        self._buffer += delta
        return self._cut(final=False)

    def flush(self) -> list[str]:
        """The remaining sentences; the last one may lack its full stop."""
        sentences = self._cut(final=True)
        tail = self._buffer.strip()
        self._buffer = ""
        return sentences + ([tail] if tail else [])

    def _cut(self, final: bool) -> list[str]:
        sentences = []
        while True:
            cut = _boundary(self._buffer, final)
            if cut is None:
                return sentences
            sentence = " ".join(self._buffer[:cut].split())
            self._buffer = self._buffer[cut:]
            if sentence:
                sentences.append(sentence)


def split_sentences(text: str) -> list[str]:
    """``text`` cut into sentences, whitespace collapsed."""
    stream = SentenceStream()
    return stream.feed(text) + stream.flush()


def join_sentences(sentences: Iterable[str]) -> str:
    return " ".join(s.strip() for s in sentences if s.strip())


def _boundary(text: str, final: bool) -> int | None:
    """Index just past the first sentence end in ``text``, or None (none yet)."""
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            if text[:i].strip():
                return i + 1
            i += 1
            continue
        if ch not in _TERMINALS:
            i += 1
            continue
        j = i
        while j < n and text[j] in _TERMINALS:
            j += 1
        while j < n and text[j] in _CLOSERS:
            j += 1
        if j == n:
            return n if final else None  # is more of this word coming?
        if not text[j].isspace():
            i = j  # "v2.3.1", "p99.9", "e.g.x"
            continue
        k = j
        while k < n and text[k].isspace():
            k += 1
        if k == n and not final:
            return None  # the next word decides
        decision = _ends_sentence(text, i, j, text[k] if k < n else "")
        if decision:
            return j
        i = j
    return None


def _ends_sentence(text: str, start: int, end: int, next_char: str) -> bool:
    punctuation = text[start:end].rstrip(_CLOSERS)
    if punctuation != "." and set(punctuation) != {"."}:
        return True  # "?" and "!" always end a sentence
    if not next_char:
        return True
    words = text[:start].split()
    word = words[-1].lower().lstrip("\"'([“‘") if words else ""
    if word in _UNITS and len(words) >= 2 and words[-2].replace(".", "").replace(",", "").isdigit():
        return next_char.isupper() or next_char.isdigit()
    if word in _CLOCK_ABBREVIATIONS:
        return next_char.isupper()
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
        return False  # "e.g. Postgres", initials
    return not next_char.islower()
