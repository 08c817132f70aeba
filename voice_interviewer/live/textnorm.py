"""Say engineering text the way engineers say it, before Piper reads it.

``normalise_for_speech("p99 on eu-west-1 hit 2.1 s after v2.3.1 at 1:40 am")``
gives "p ninety-nine on e u west one hit two point one seconds after version
two point three point one at one forty a m".

The rules run in the order of :data:`RULES`; each is a name, a regular
expression, a replacement and one example (input, expected output) that
tests/test_textnorm.py checks, so the table is its own documentation.
Order matters: specific shapes (regions, versions, times, percentiles,
status-code families) come before the generic number rule that would
otherwise read "eu-west-1" as "eu-west-one".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
         "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**9, "billion"), (10**6, "million"), (1000, "thousand")]

# Said letter by letter. Words engineers pronounce as words (ram, sql is
# split, nginx...) stay out of this list on purpose.
LETTER_ACRONYMS = (
    "SLA", "SLO", "SLI", "SRE", "DB", "TLS", "SSL", "DNS", "API", "APIs", "CPU", "GPU", "AWS", "GCP",
    "CDN", "HTTP", "HTTPS", "IP", "TCP", "UDP", "RDS", "EC2", "S3", "IAM", "VPC", "LB", "ALB", "ELB",
    "QPS", "RPS", "TTL", "OOM", "PR", "CI", "CD", "ETA", "RCA", "MTTR", "MTTD", "ID", "IDs", "URL",
    "VM", "VMs", "SQL", "NTP", "SSH", "CLI", "UI", "P0", "P1", "P2", "SEV1", "SEV2", "JVM", "GC",
    "HA", "AZ", "AZs", "SMS", "DDoS", "WAF", "JWT", "SDK", "OS", "K8S",
)
# Spoken as a word or a phrase.
WORD_TABLE = {
    "k8s": "kubernetes", "K8s": "kubernetes", "K8S": "kubernetes",
    "kubectl": "kube control", "nginx": "engine x", "Nginx": "engine x", "NGINX": "engine x",
    "PagerDuty": "pager duty", "postgres": "postgres", "Postgres": "postgres", "PostgreSQL": "postgres",
    "MySQL": "my sequel", "Redis": "redis", "etcd": "etcd", "oncall": "on call", "on-call": "on call",
    "JSON": "jason", "YAML": "yamel", "OAuth": "oh auth", "SaaS": "sass", "RAM": "ram",
    "e.g.": "for example", "i.e.": "that is", "vs.": "versus", "vs": "versus", "w/": "with",
    "approx.": "about", "req/s": "requests per second", "rps": "requests per second",
}
UNITS = {
    "ms": ("millisecond", "milliseconds"), "s": ("second", "seconds"), "sec": ("second", "seconds"),
    "secs": ("second", "seconds"), "min": ("minute", "minutes"), "mins": ("minute", "minutes"),
    "h": ("hour", "hours"), "hr": ("hour", "hours"), "hrs": ("hour", "hours"),
    "us": ("microsecond", "microseconds"), "µs": ("microsecond", "microseconds"),
    "KB": ("kilobyte", "kilobytes"), "MB": ("megabyte", "megabytes"), "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"), "Gbps": ("gigabit per second", "gigabits per second"),
    "Mbps": ("megabit per second", "megabits per second"), "rps": ("request per second", "requests per second"),
    "qps": ("query per second", "queries per second"), "x": ("times", "times"),
}
REGION_WORDS = ("east", "west", "north", "south", "central", "northeast", "southeast", "northwest",
                "southwest")


def number_to_words(n: int) -> str:
    """0..999_999_999_999 as English words ("four thousand", "ninety-nine")."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_to_words(rest)}" if rest else "")
    for scale, name in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return f"{number_to_words(high)} {name}" + (f" {number_to_words(rest)}" if rest else "")
    raise ValueError(n)  # unreachable: the scales cover every n >= 1000


def _digits(text: str) -> str:
    return " ".join(_ONES[int(d)] for d in text)


def _decimal_words(text: str) -> str:
    """"2.15" -> "two point one five"; "12" -> "twelve"; "0.5" -> "zero point five"."""
    whole, _, frac = text.replace(",", "").partition(".")
    words = number_to_words(int(whole)) if whole else "zero"
    return f"{words} point {_digits(frac)}" if frac else words


def _hour_minute(hour: str, minute: str, meridiem: str | None) -> str:
    h, m = int(hour), int(minute)
    if m == 0:
        tail = "" if meridiem else (" o'clock" if h <= 12 else " hundred")
    elif m < 10:
        tail = f" oh {_ONES[m]}"
    else:
        tail = f" {number_to_words(m)}"
    words = number_to_words(h) + tail
    return words + (f" {_meridiem(meridiem)}" if meridiem else "")


def _meridiem(text: str) -> str:
    return "a m" if text.lower().startswith("a") else "p m"


def _status_code(code: str) -> str:
    """Engineers say 503 as "five oh three", 429 as "four twenty-nine", 500 as "five hundred"."""
    head, tail = int(code[0]), int(code[1:])
    if tail == 0:
        return f"{_ONES[head]} hundred"
    if tail < 10:
        return f"{_ONES[head]} oh {_ONES[tail]}"
    return f"{_ONES[head]} {number_to_words(tail)}"


def _unit(number: str, unit: str) -> str:
    one, many = UNITS[unit]
    return f"{_decimal_words(number)} {one if number in ('1', '1.0') else many}"


def _spell(acronym: str) -> str:
    if acronym.endswith("s") and acronym[:-1].isupper():
        return " ".join(acronym[:-1]) + "s"
    return " ".join(acronym.upper() if acronym.isupper() else acronym)


def _scaled(number: str, suffix: str) -> str:
    word = {"k": "thousand", "K": "thousand", "M": "million", "B": "billion"}[suffix]
    return f"{_decimal_words(number)} {word}"


Replacement = Callable[[re.Match], str]


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern
    replace: Replacement
    example: tuple[str, str]
    """(input, expected output) of this rule alone within the pipeline; tested."""


def _r(name: str, pattern: str, replace: Replacement, example: tuple[str, str], flags: int = 0) -> Rule:
    return Rule(name, re.compile(pattern, flags), replace, example)


_UNIT_ALT = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
_ACRONYM_ALT = "|".join(sorted((re.escape(a) for a in LETTER_ACRONYMS), key=len, reverse=True))
_WORD_ALT = "|".join(sorted((re.escape(w) for w in WORD_TABLE), key=len, reverse=True))

RULES: tuple[Rule, ...] = (
    _r("words", rf"(?<![\w/])({_WORD_ALT})(?![\w/])", lambda m: WORD_TABLE[m[1]],
       ("k8s pods on nginx", "kubernetes pods on engine x")),
    _r("region", rf"\b(us|eu|ap|sa|ca|me|af)-({'|'.join(REGION_WORDS)})-(\d+)\b",
       lambda m: f"{' '.join(m[1])} {m[2]} {number_to_words(int(m[3]))}",
       ("eu-west-1", "e u west one"), re.IGNORECASE),
    _r("version", r"\bv(\d+(?:\.\d+)*)\b",
       lambda m: "version " + " point ".join(number_to_words(int(p)) for p in m[1].split(".")),
       ("v2.3.1", "version two point three point one")),
    _r("clock_time", r"\b(\d{1,2}):(\d{2})(?:\s*([ap])\.?m\.?\b)?",
       lambda m: _hour_minute(m[1], m[2], m[3]), ("1:40 am", "one forty a m"), re.IGNORECASE),
    _r("hour_meridiem", r"\b(\d{1,2})\s*([ap])\.?m\.?(?=\W|$)",
       lambda m: f"{number_to_words(int(m[1]))} {_meridiem(m[2])}", ("2am", "two a m"), re.IGNORECASE),
    _r("percentile", r"\b[pP](\d{2,3}(?:\.\d+)?)\b",
       lambda m: "p " + (_digits(m[1]) if len(m[1]) == 3 and "." not in m[1] else _decimal_words(m[1])),
       ("p99 and p999", "p ninety-nine and p nine nine nine")),
    _r("status_family", r"\b([1-5])(?:xx|XX)s?\b", lambda m: f"{_ONES[int(m[1])]} x x",
       ("5xx rate", "five x x rate")),
    _r("status_plural", r"\b([45]\d\d)s\b", lambda m: _status_code(m[1]) + "s",
       ("500s and 429s", "five hundreds and four twenty-nines")),
    _r("thousands_sep", r"\b\d{1,3}(?:,\d{3})+\b", lambda m: m[0].replace(",", ""),
       ("4,000", "four thousand")),
    _r("percent", r"(\d+(?:\.\d+)?)\s?%", lambda m: f"{_decimal_words(m[1])} percent",
       ("12%", "twelve percent")),
    _r("scaled", r"\b(\d+(?:\.\d+)?)([kKMB])\b", lambda m: _scaled(m[1], m[2]),
       ("1.2M requests", "one point two million requests")),
    _r("unit", rf"\b(\d+(?:\.\d+)?)\s?({_UNIT_ALT})(?![\w/])", lambda m: _unit(m[1], m[2]),
       ("2.1 s and 80ms", "two point one seconds and eighty milliseconds")),
    _r("status_code", r"(?<![\d.])([45]\d\d)(?![\d.])", lambda m: _status_code(m[1]),
       ("returning 503", "returning five oh three")),
    _r("decimal", r"(?<![\d.])(\d+\.\d+)(?![\d.])", lambda m: _decimal_words(m[1]),
       ("0.5", "zero point five")),
    _r("ordinal", r"\b(\d+)(st|nd|rd|th)\b", lambda m: _ordinal(int(m[1])), ("3rd", "third")),
    _r("integer", r"(?<![\d.])(\d+)(?![\d.])", lambda m: number_to_words(int(m[1])),
       ("4000 users", "four thousand users")),
    _r("acronym", rf"(?<![\w])({_ACRONYM_ALT})(?![\w])", lambda m: _spell(m[1]),
       ("the SLA for the DB", "the S L A for the D B")),
    _r("symbols", r"\s*(&|->|→|~|\+|=|@)\s*",
       lambda m: {"&": " and ", "->": " to ", "→": " to ", "~": " about ", "+": " plus ",
                  "=": " equals ", "@": " at "}[m[1]], ("A & B", "A and B")),
    _r("spaces", r"[ \t]{2,}", lambda m: " ", ("a  b", "a b")),
)

_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}


def _ordinal(n: int) -> str:
    words = number_to_words(n)
    head, sep, last = words.rpartition(" ") if " " in words else ("", "", words)
    prefix, dash, tail = last.rpartition("-")
    if tail in _ORDINAL_WORDS:
        tail = _ORDINAL_WORDS[tail]
    elif tail.endswith("y"):
        tail = tail[:-1] + "ieth"
    else:
        tail += "th"
    return head + sep + prefix + dash + tail


def normalise_for_speech(text: str) -> str:
    """Plain words Piper pronounces the way engineers speak; idempotent on its own output."""
    for rule in RULES:
        text = rule.pattern.sub(rule.replace, text)
    return text.strip()


def normalise_key(text: str) -> str:
    """Cache key: the spoken form, lower-cased, whitespace collapsed."""
    return " ".join(normalise_for_speech(text).lower().split())
