"""The guard between a generated interviewer line and the speaker.

A line the model wrote is spoken only if it

- keeps the intent's required strings (numbers, names, versions),
- stays within a length budget,
- stays in character (no "As an AI", no assistant phrases, no markdown),
- reveals nothing of the hidden root cause, and
- says no number that is not in the scenario's public text.

"Public text" is everything the interviewer may say: the briefing, the fact
answers, the mitigation responses and risks, the complication lines, the
pushback lines, the postmortem prompt and the closing. The root cause is
checked through its *distinctive* terms: its content words and word pairs
that appear nowhere in that public text ("exhausted", "connection pool").
That is deliberately strict: a harmless line that happens to use one of
them is replaced by the scripted line, which is always safe.

:func:`guard_line` checks a whole line; :func:`check_sentence` is the part
that can be decided one sentence at a time while the line streams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from voice_interviewer.actions import Action
from voice_interviewer.scenario import Scenario
from voice_interviewer.sentences import split_sentences

# A generated line may run this much longer than its scripted line.
LENGTH_FACTOR = 1.6
MIN_BUDGET_WORDS = 30
MAX_SENTENCE_WORDS = 45

_NUMBER = re.compile(r"(?<![A-Za-z0-9.])v?\d+(?:[.,:]\d+)*")
_IDENTIFIER = re.compile(r"(?<![\w-])[a-z][a-z0-9]*(?:-[a-z0-9]+)+(?![\w-])", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*")

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000}

_OUT_OF_CHARACTER = re.compile(
    r"(?i)\b(as an ai|\bai\b|language model|artificial intelligence|chatgpt|openai|"
    r"assistant|my (instructions|prompt|programming|guidelines|training)|system prompt|the prompt|"
    r"i (cannot|can't|am unable to|am not able to) (help|assist|provide|share|reveal)|i'm sorry, but|"
    r"i apologi[sz]e|how can i (help|assist)|happy to help|glad to help|let me know if|feel free|"
    r"as the interviewer|the interviewer|the candidate)"
)
# The model writing the other side of the conversation, or labelling its own.
_ROLE_LABEL = re.compile(r"(?i)^\W*(candidate|user|assistant|system|interviewer)\s*:")
_MARKUP = re.compile(r"[*#`_<>\[\]{}|]|^\s*[-•]\s|https?://")

# Function words and generic verbs: never "distinctive" of a root cause on their own.
_COMMON = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has
have having he her here hers him his how i if in into is it its itself just me more most my no nor not
now of off on once only or other our ours out over own same she should so some such than that the
their theirs them then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours per new old added adds opens
opened open times time makes made uses used using gets got via onto which surfaces surface causes
caused leads led shows showed started starts since still already around roughly about within without
""".split())


def guard_line(text: str, action: Action, scenario: Scenario) -> tuple[bool, str]:
    """(ok, reason) for a whole generated line; reason is "" when ok."""
    sentences = split_sentences(text)
    if not sentences:
        return False, "empty line"
    for sentence in sentences:
        ok, reason = check_sentence(sentence, scenario)
        if not ok:
            return False, reason
    words = len(text.split())
    budget = word_budget(action)
    if words > budget:
        return False, f"too long ({words} words, budget {budget})"
    missing = missing_required(text, action)
    if missing:
        return False, "leaves out required " + ", ".join(repr(m) for m in missing)
    return True, ""


def check_sentence(sentence: str, scenario: Scenario) -> tuple[bool, str]:
    """The checks one sentence can pass or fail on its own."""
    match = _OUT_OF_CHARACTER.search(sentence)
    if match:
        return False, f"out of character ({match.group(0).strip()!r})"
    if _ROLE_LABEL.search(sentence):
        return False, "out of character (a role label)"
    if _MARKUP.search(sentence):
        return False, "out of character (markup or a link)"
    if any(ord(ch) > 0x2500 for ch in sentence):
        return False, "out of character (symbols)"
    if len(sentence.split()) > MAX_SENTENCE_WORDS:
        return False, f"sentence too long ({len(sentence.split())} words)"
    if reveals_root_cause(sentence, scenario):
        return False, "reveals the hidden root cause"
    invented = invented_numbers(sentence, scenario)
    if invented:
        return False, "number not in the scenario: " + ", ".join(invented)
    return True, ""


def word_budget(action: Action) -> int:
    return max(MIN_BUDGET_WORDS, int(LENGTH_FACTOR * len(action.text.split())) + 10)


# ------------------------------------------------------------ required strings


def required_strings(action: Action) -> list[str]:
    """``action.required``, else the numbers, versions and names of its scripted line."""
    if action.required:
        return list(action.required)
    # A number inside a name ("eu-west-1") is required as part of the name.
    found = [m.group(0) for m in _NUMBER.finditer(action.text) if action.text[m.start() - 1: m.start()] != "-"]
    found += [m.group(0) for m in _IDENTIFIER.finditer(action.text)
              if any(c.isdigit() for c in m.group(0)) or m.group(0).count("-") >= 2]
    seen, ordered = set(), []
    for item in found:
        key = _required_key(item)
        if key not in seen:
            seen.add(key)
            ordered.append(item)
    return ordered


def missing_required(text: str, action: Action) -> list[str]:
    """The required strings ``text`` leaves out (numbers compared by value)."""
    numbers = numbers_in(text)
    flat = _flat(text)
    missing = []
    for item in required_strings(action):
        as_numbers = numbers_in(item)
        if as_numbers and _NUMBER.fullmatch(item.strip()):
            if not as_numbers <= numbers:
                missing.append(item)
        elif _flat(item) not in flat:
            missing.append(item)
    return missing


def _required_key(item: str) -> str:
    return _normalise_number(item) if _NUMBER.fullmatch(item) else item.lower()


def _flat(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


# ------------------------------------------------------------ numbers


def numbers_in(text: str) -> set[str]:
    """Every number in ``text``, normalised: digits ("4,000" → "4000", "v2.3.1" → "2.3.1",
    "2:00" → "2") and number words ("twelve" → "12", "two hundred" → "200")."""
    numbers = {_normalise_number(m.group(0)) for m in _NUMBER.finditer(text)}
    numbers |= _number_words(text)
    return numbers


def invented_numbers(text: str, scenario: Scenario) -> list[str]:
    allowed = _public(scenario).numbers
    return sorted(n for n in numbers_in(text) if n not in allowed)


def _normalise_number(token: str) -> str:
    token = token.lstrip("vV")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", token):
        token = token.replace(",", "")
    token = token.split(",")[0]
    token = re.sub(r"^0+(?=\d)", "", token)
    if token.endswith(":00"):
        token = token[:-3]
    return token


def _number_words(text: str) -> set[str]:
    words = re.findall(r"[a-z]+", text.lower())
    found: set[str] = set()
    i = 0
    while i < len(words):
        word = words[i]
        if word in _UNITS:
            value = _UNITS[word]
            if i + 1 < len(words) and words[i + 1] in _UNITS and value >= 20 and _UNITS[words[i + 1]] < 10:
                value += _UNITS[words[i + 1]]  # "twenty five"
                i += 1
            if i + 1 < len(words) and words[i + 1] in _SCALES:
                value *= _SCALES[words[i + 1]]
                i += 1
            found.add(str(value))
        i += 1
    return found


# ------------------------------------------------------------ root cause


def reveals_root_cause(text: str, scenario: Scenario) -> bool:
    """Does ``text`` use a term of the root cause that no public line uses?"""
    return bool(root_cause_hits(text, scenario))


def root_cause_hits(text: str, scenario: Scenario) -> list[str]:
    public = _public(scenario)
    stems = [_stem(w) for w in _WORD.findall(_words_text(text))]
    hits = [w for w in stems if w in public.secret_words]
    pairs = {f"{a} {b}" for a, b in zip(stems, stems[1:])}
    hits += sorted(pairs & public.secret_pairs)
    return hits


@dataclass(frozen=True)
class _Public:
    numbers: frozenset[str]
    secret_words: frozenset[str]
    secret_pairs: frozenset[str]


def public_text(scenario: Scenario) -> str:
    """Everything the interviewer may say in this scenario: never the root cause."""
    parts = [scenario.title, *scenario.briefing, *(f.answer for f in scenario.facts)]
    parts += [m.response for m in scenario.mitigations] + [m.risks for m in scenario.mitigations]
    parts += [c.line for c in scenario.complications] + list(scenario.pushback)
    parts += [scenario.postmortem.prompt, scenario.closing]
    return "\n".join(p for p in parts if p)


def _public(scenario: Scenario) -> _Public:
    return _public_cached(public_text(scenario), scenario.root_cause)


@lru_cache(maxsize=32)
def _public_cached(public: str, root_cause: str) -> _Public:
    public_stems = [_stem(w) for w in _WORD.findall(_words_text(public))]
    public_words = set(public_stems)
    public_pairs = {f"{a} {b}" for a, b in zip(public_stems, public_stems[1:])}

    cause = [_stem(w) for w in _WORD.findall(_words_text(root_cause))]
    secret_words = {
        w for w in cause
        if len(w) >= 4 and w not in _COMMON and w not in public_words and not w[0].isdigit()
    }
    secret_pairs = {
        f"{a} {b}" for a, b in zip(cause, cause[1:])
        if a not in _COMMON and b not in _COMMON and not any(c.isdigit() for c in a + b)
        and f"{a} {b}" not in public_pairs
    }
    return _Public(frozenset(numbers_in(public)), frozenset(secret_words), frozenset(secret_pairs))


def _words_text(text: str) -> str:
    # "token-cache" and "token cache" are the same term.
    return re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text.lower().replace("’", "'"))


def _stem(word: str) -> str:
    """Crude folding of plurals and past tenses, enough for "connections" / "connection"."""
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    if len(word) > 5 and word.endswith("ed"):
        return word[:-2]  # "deployed" / "deploy"
    return word
