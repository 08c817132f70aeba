"""The scenario file format (schema version 1), validated on load.

A scenario is YAML; docs/SCENARIOS.md documents every field. Loading checks
the whole file and raises :class:`ScenarioError` naming the file, the field
(as a dotted path such as ``facts[2].after``) and what is wrong with it.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from voice_interviewer.errors import UserError
from voice_interviewer.labels import MITIGATION_KINDS, POSTMORTEM_ELEMENTS

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEFAULT_SCENARIO_ID = "core-api-500s"
DEFAULT_MITIGATION_MARK_S = 120.0
# Without a resolving mitigation the director closes the incident after this
# long and moves to the postmortem, so every session ends cleanly.
DEFAULT_TIME_LIMIT_S = 900.0
DEFAULT_POSTMORTEM_TURNS = 3
DEFAULT_NO_INFO = ("I don't have that information.",)
DEFAULT_UNRECOGNISED = "Okay, that's done. It makes no visible difference yet."
DEFAULT_BLAME_PUSHBACK = (
    "Let's keep this blameless. What in the system made that mistake possible?",
)
DEFAULT_TIMEOUT_PROMPT = (
    "Let's stop the incident there and assume the team got it under control. "
    "Walk me through the postmortem you'd write: the timeline, the impact, the root cause and the follow-ups."
)

STYLES = ("incident", "investigation")
OUTCOMES = ("resolves", "partial", "fails", "worsens")
PHASES = ("triage", "mitigate", "diagnose", "postmortem", "end")
TRIGGER_TYPES = {
    # type: {field: python type}, all required; every trigger may also carry delay_s
    "mitigation": {},  # optional: kind, mitigation
    "no_mitigation": {"after_s": (int, float)},
    "diagnostic_streak": {"count": int},
    "no_hypothesis": {"count": int},
    "topic": {"topic": str},
    "monologue": {"over_s": (int, float)},
    "elapsed": {"after_s": (int, float)},
    "after_complication": {"complication": str},
    "phase": {"phase": str},
}
# A scenario id names session folders (<stamp>_<id>) and history rows, so it
# must be a plain slug: no "/", "..", spaces or capitals that could turn a
# folder name into a path or make two ids the same folder on a case-folding disk.
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# Triggers that put the candidate on the mitigation clock: meaningless (and
# banned) in an investigation, where there is no pager and no clock.
CLOCK_TRIGGERS = ("no_mitigation",)


class ScenarioError(UserError):
    """An invalid scenario file. Exit code 2, as for any invalid input file."""

    def __init__(self, source: str, field_path: str, problem: str):
        super().__init__(f"{source}: {field_path}: {problem}", exit_code=2)
        self.source = source
        self.field_path = field_path
        self.problem = problem


@dataclass
class Fact:
    id: str
    topics: list[str]  # phrases that, spoken by the candidate, reveal it
    answer: str  # what the interviewer says; numbers come only from here
    after: str | None = None  # an event reference that must happen first (Scenario.event_refs)


@dataclass
class Override:
    """A mitigation's different outcome once an earlier event has happened."""

    after: str  # an event reference (Scenario.event_refs)
    outcome: str
    response: str


@dataclass
class Mitigation:
    id: str
    kind: str  # one of labels.MITIGATION_KINDS
    targets: list[str]  # words that name what it acts on ("auth", "v2.3.1")
    outcome: str  # resolves | partial | fails | worsens
    response: str  # what the interviewer says when it is applied
    risks: str = ""
    example: str = ""  # a line a candidate might say to propose it (docs, simulated candidates)
    instead: list[Override] = field(default_factory=list)  # the first whose `after` happened wins


@dataclass
class Trigger:
    type: str
    kind: str | None = None
    mitigation: str | None = None
    after_s: float | None = None
    count: int | None = None
    topic: str | None = None
    over_s: float | None = None
    complication: str | None = None
    phase: str | None = None
    delay_s: float = 0.0  # once the condition holds, wait this long before firing


@dataclass
class Complication:
    id: str
    priority: int  # higher fires first when several are due
    trigger: Trigger
    line: str
    interrupt: bool = False  # may cut the candidate off mid-turn
    weight: float = 1.0  # among eligible complications of equal priority, the seed picks by weight
    group: str | None = None  # at most one complication of a group fires


@dataclass
class Postmortem:
    prompt: str
    elements: dict[str, list[str]]  # element -> phrases that show it
    timeout_prompt: str = DEFAULT_TIMEOUT_PROMPT  # used when the time limit, not a fix, ends the incident
    max_turns: int = DEFAULT_POSTMORTEM_TURNS  # candidate turns before the closing line


@dataclass
class RootCauseReveal:
    """When the interviewer may confirm the hidden root cause, and how."""

    requires: list[list[str]]  # every group needs one phrase mentioned by the candidate
    line: str  # the confirmation; the only line allowed to carry hidden_terms
    hidden_terms: list[str] = field(default_factory=list)  # never in any other line


@dataclass
class Scenario:
    id: str
    title: str
    severity: str
    briefing: list[str]
    root_cause: str  # hidden: never spoken unless earned
    facts: list[Fact]
    mitigations: list[Mitigation]
    complications: list[Complication]
    postmortem: Postmortem
    style: str = "incident"
    mitigation_mark_s: float = DEFAULT_MITIGATION_MARK_S
    vocabulary: list[str] = field(default_factory=list)
    topics: dict[str, list[str]] = field(default_factory=dict)
    pushback: list[str] = field(default_factory=list)
    closing: str = "Thanks, let's stop there."
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    no_info: list[str] = field(default_factory=lambda: list(DEFAULT_NO_INFO))
    unrecognised: str = DEFAULT_UNRECOGNISED
    blame_pushback: list[str] = field(default_factory=lambda: list(DEFAULT_BLAME_PUSHBACK))
    root_cause_reveal: RootCauseReveal | None = None
    source: str = ""

    @property
    def briefing_text(self) -> str:
        return " ".join(self.briefing)

    def fact(self, fact_id: str) -> Fact:
        return next(f for f in self.facts if f.id == fact_id)

    def complication(self, complication_id: str) -> Complication:
        return next(c for c in self.complications if c.id == complication_id)

    def event_refs(self) -> set[str]:
        """Every event a fact's ``after`` may name."""
        refs = {f"complication:{c.id}" for c in self.complications}
        refs |= {f"mitigation:{m.id}" for m in self.mitigations}
        refs |= {f"mitigation_kind:{k}" for k in MITIGATION_KINDS}
        refs |= {f"phase:{p}" for p in PHASES}
        refs |= {f"fact:{f.id}" for f in self.facts}
        refs |= {"any_mitigation", "hypothesis", "root_cause"}
        return refs

    def public_lines(self) -> list[tuple[str, str]]:
        """(field path, text) of every line the interviewer may speak without earning anything."""
        lines = [(f"briefing[{i}]", b) for i, b in enumerate(self.briefing)]
        lines += [(f"facts[{i}].answer", f.answer) for i, f in enumerate(self.facts)]
        lines += [(f"mitigations[{i}].response", m.response) for i, m in enumerate(self.mitigations)]
        lines += [(f"mitigations[{i}].instead[{j}].response", o.response)
                  for i, m in enumerate(self.mitigations) for j, o in enumerate(m.instead)]
        lines += [(f"complications[{i}].line", c.line) for i, c in enumerate(self.complications)]
        lines += [(f"pushback[{i}]", p) for i, p in enumerate(self.pushback)]
        lines += [(f"blame_pushback[{i}]", p) for i, p in enumerate(self.blame_pushback)]
        lines += [(f"no_info[{i}]", p) for i, p in enumerate(self.no_info)]
        lines += [("unrecognised", self.unrecognised), ("closing", self.closing),
                  ("postmortem.prompt", self.postmortem.prompt),
                  ("postmortem.timeout_prompt", self.postmortem.timeout_prompt)]
        return lines

    def stt_prompt(self) -> str:
        """A short initial prompt for Whisper carrying the scenario's terms."""
        return "Incident call. " + ", ".join(self.vocabulary) + "."


# ---------------------------------------------------------------- loading


def builtin_dir() -> Path:
    return Path(str(resources.files("voice_interviewer.scenarios")))


def builtin_ids() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def load_scenario(id_or_path: str | Path | None = None) -> Scenario:
    """Load a built-in scenario by id, or a user's scenario file by path."""
    id_or_path = id_or_path or DEFAULT_SCENARIO_ID
    path = Path(id_or_path)
    if path.suffix not in (".yaml", ".yml"):
        candidate = builtin_dir() / f"{id_or_path}.yaml"
        if not candidate.is_file():
            known = ", ".join(builtin_ids())
            raise UserError(f"unknown scenario {str(id_or_path)!r} (known: {known}; or give a path to a .yaml file)",
                            exit_code=2)
        path = candidate
    if not path.is_file():
        raise UserError(f"{path}: scenario file not found", exit_code=2)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:  # as `scenarios check` says it, rather than load mojibake
        raise ScenarioError(str(path), "(file)", f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ScenarioError(str(path), "(file)", f"cannot read ({exc.strerror})") from None
    return parse_scenario(text, source=str(path))


def load_all() -> list[Scenario]:
    return [load_scenario(i) for i in builtin_ids()]


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise ScenarioError(source, where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    scenario = _Validator(source).scenario(raw)
    logger.debug("loaded scenario %s from %s", scenario.id, source)
    return scenario


class _Validator:
    """Turns parsed YAML into a Scenario, or raises naming the field."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, problem: str) -> None:
        raise ScenarioError(self.source, path, problem)

    def mapping(self, value: Any, path: str) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping, got {_type_name(value)}")
        return value

    def get(self, obj: dict, key: str, path: str, types, required=True, default=None):
        where = f"{path}.{key}" if path else key
        if key not in obj or obj[key] is None:
            if required:
                self.fail(where, "is required")
            return default
        value = obj[key]
        if isinstance(value, bool) and bool not in _as_tuple(types):
            self.fail(where, f"must be {_type_label(types)}, got a boolean")
        if not isinstance(value, types):
            self.fail(where, f"must be {_type_label(types)}, got {_type_name(value)}")
        if isinstance(value, str) and not value.strip():
            self.fail(where, "must not be empty")
        return value

    def strings(self, obj: dict, key: str, path: str, required=True) -> list[str]:
        where = f"{path}.{key}" if path else key
        value = self.get(obj, key, path, (list, str), required=required, default=[])
        if isinstance(value, str):
            value = [value]
        for i, item in enumerate(value):
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                self.fail(f"{where}[{i}]", f"must be a string, got the number {item!r} (put it in quotes)")
            if not isinstance(item, str) or not item.strip():
                self.fail(f"{where}[{i}]", "must be a non-empty string")
        if required and not value:
            self.fail(where, "must list at least one entry")
        return list(value)

    def unknown_keys(self, obj: dict, allowed: set[str], path: str) -> None:
        for key in obj:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                self.fail(where, unknown_field_problem(str(key), allowed))

    def scenario(self, raw: Any) -> Scenario:
        raw = self.mapping(raw, "(top level)")
        allowed = {
            "schema_version", "id", "title", "severity", "style", "mitigation_mark_s", "briefing",
            "root_cause", "vocabulary", "topics", "facts", "mitigations", "complications",
            "pushback", "postmortem", "closing", "time_limit_s", "no_info", "unrecognised",
            "blame_pushback", "root_cause_reveal",
        }
        self.unknown_keys(raw, allowed, "")
        version = self.get(raw, "schema_version", "", int)
        if version != SCHEMA_VERSION:
            self.fail("schema_version", f"is {version}; this version of voice-interviewer reads {SCHEMA_VERSION}")
        style = self.get(raw, "style", "", str, required=False, default="incident")
        if style not in STYLES:
            self.fail("style", f"must be one of {', '.join(STYLES)}, got {style!r}")
        topics = self.topics(raw)
        facts = [self.fact(f, f"facts[{i}]") for i, f in enumerate(self.get(raw, "facts", "", list))]
        mitigations = [self.mitigation(m, f"mitigations[{i}]") for i, m in enumerate(self.get(raw, "mitigations", "", list))]
        complications = [
            self.complication(c, f"complications[{i}]", topics)
            for i, c in enumerate(self.get(raw, "complications", "", list))
        ]
        scenario = Scenario(
            id=self.scenario_id(raw),
            title=self.get(raw, "title", "", str),
            severity=self.get(raw, "severity", "", str),
            style=style,
            mitigation_mark_s=self.number(raw, "mitigation_mark_s", "", default=DEFAULT_MITIGATION_MARK_S),
            briefing=self.strings(raw, "briefing", ""),
            root_cause=self.get(raw, "root_cause", "", str),
            vocabulary=self.strings(raw, "vocabulary", "", required=False),
            topics=topics,
            facts=facts,
            mitigations=mitigations,
            complications=complications,
            pushback=self.strings(raw, "pushback", "", required=False),
            postmortem=self.postmortem(self.get(raw, "postmortem", "", dict)),
            closing=self.get(raw, "closing", "", str, required=False, default="Thanks, let's stop there."),
            time_limit_s=self.number(raw, "time_limit_s", "", default=DEFAULT_TIME_LIMIT_S),
            no_info=self.strings(raw, "no_info", "", required=False) or list(DEFAULT_NO_INFO),
            unrecognised=self.get(raw, "unrecognised", "", str, required=False, default=DEFAULT_UNRECOGNISED),
            blame_pushback=self.strings(raw, "blame_pushback", "", required=False) or list(DEFAULT_BLAME_PUSHBACK),
            root_cause_reveal=self.root_cause_reveal(raw),
            source=self.source,
        )
        self.cross_check(scenario)
        return scenario

    def topics(self, raw: dict) -> dict[str, list[str]]:
        value = self.get(raw, "topics", "", dict, required=False, default={})
        return {str(name): self.strings(value, name, "topics") for name in value}

    def fact(self, raw: Any, path: str) -> Fact:
        raw = self.mapping(raw, path)
        self.unknown_keys(raw, {"id", "topics", "answer", "after"}, path)
        return Fact(
            id=self.get(raw, "id", path, str),
            topics=self.strings(raw, "topics", path),
            answer=self.get(raw, "answer", path, str),
            after=self.get(raw, "after", path, str, required=False),
        )

    def mitigation(self, raw: Any, path: str) -> Mitigation:
        raw = self.mapping(raw, path)
        self.unknown_keys(raw, {"id", "kind", "targets", "outcome", "response", "risks", "example", "instead"}, path)
        kind = self.get(raw, "kind", path, str)
        if kind not in MITIGATION_KINDS:
            self.fail(f"{path}.kind", f"unknown mitigation kind {kind!r} (expected one of: {', '.join(MITIGATION_KINDS)})")
        outcome = self.get(raw, "outcome", path, str)
        if outcome not in OUTCOMES:
            self.fail(f"{path}.outcome", f"must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        return Mitigation(
            id=self.get(raw, "id", path, str),
            kind=kind,
            targets=self.strings(raw, "targets", path, required=False),
            outcome=outcome,
            response=self.get(raw, "response", path, str),
            risks=self.get(raw, "risks", path, str, required=False, default=""),
            example=self.get(raw, "example", path, str, required=False, default=""),
            instead=[self.override(o, f"{path}.instead[{j}]")
                     for j, o in enumerate(self.get(raw, "instead", path, list, required=False, default=[]))],
        )

    def override(self, raw: Any, path: str) -> Override:
        raw = self.mapping(raw, path)
        self.unknown_keys(raw, {"after", "outcome", "response"}, path)
        outcome = self.get(raw, "outcome", path, str)
        if outcome not in OUTCOMES:
            self.fail(f"{path}.outcome", f"must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        return Override(after=self.get(raw, "after", path, str), outcome=outcome,
                        response=self.get(raw, "response", path, str))

    def complication(self, raw: Any, path: str, topics: dict[str, list[str]]) -> Complication:
        raw = self.mapping(raw, path)
        self.unknown_keys(raw, {"id", "priority", "trigger", "line", "interrupt", "weight", "group"}, path)
        weight = self.number(raw, "weight", path, default=1.0)
        return Complication(
            id=self.get(raw, "id", path, str),
            priority=self.get(raw, "priority", path, int, required=False, default=1),
            trigger=self.trigger(self.get(raw, "trigger", path, dict), f"{path}.trigger", topics),
            line=self.get(raw, "line", path, str),
            interrupt=self.get(raw, "interrupt", path, bool, required=False, default=False),
            weight=weight,
            group=self.get(raw, "group", path, str, required=False),
        )

    def trigger(self, raw: dict, path: str, topics: dict[str, list[str]]) -> Trigger:
        ttype = self.get(raw, "type", path, str)
        if ttype not in TRIGGER_TYPES:
            self.fail(f"{path}.type", f"unknown trigger {ttype!r} (expected one of: {', '.join(TRIGGER_TYPES)})")
        fields = {"type", "delay_s", *TRIGGER_TYPES[ttype]}
        if ttype == "mitigation":
            fields |= {"kind", "mitigation"}
        self.unknown_keys(raw, fields, path)
        values = {name: self.number(raw, name, path, types=types, required=True) if types != str
                  else self.get(raw, name, path, types) for name, types in TRIGGER_TYPES[ttype].items()}
        trigger = Trigger(type=ttype, **values)
        trigger.delay_s = self.number(raw, "delay_s", path, default=0.0, allow_zero=True)
        if ttype == "mitigation":
            trigger.kind = self.get(raw, "kind", path, str, required=False)
            trigger.mitigation = self.get(raw, "mitigation", path, str, required=False)
            if trigger.kind is not None and trigger.kind not in MITIGATION_KINDS:
                self.fail(f"{path}.kind", f"unknown mitigation kind {trigger.kind!r}")
        if ttype == "topic" and trigger.topic not in topics:
            self.fail(f"{path}.topic", f"names topic {trigger.topic!r}, which the scenario's topics do not define")
        if ttype == "phase" and trigger.phase not in PHASES:
            self.fail(f"{path}.phase", f"must be one of {', '.join(PHASES)}, got {trigger.phase!r}")
        return trigger

    def postmortem(self, raw: dict) -> Postmortem:
        self.unknown_keys(raw, {"prompt", "elements", "timeout_prompt", "max_turns"}, "postmortem")
        elements = self.get(raw, "elements", "postmortem", dict)
        for name in elements:
            if name not in POSTMORTEM_ELEMENTS:
                self.fail(f"postmortem.elements.{name}", f"unknown element (expected one of: {', '.join(POSTMORTEM_ELEMENTS)})")
        return Postmortem(
            prompt=self.get(raw, "prompt", "postmortem", str),
            elements={name: self.strings(elements, name, "postmortem.elements") for name in elements},
            timeout_prompt=self.get(raw, "timeout_prompt", "postmortem", str, required=False, default=DEFAULT_TIMEOUT_PROMPT),
            max_turns=self.number(raw, "max_turns", "postmortem", types=int, default=DEFAULT_POSTMORTEM_TURNS),
        )

    def number(self, obj: dict, key: str, path: str, types=(int, float), default=None,
               required: bool = False, allow_zero: bool = False):
        """A finite number > 0 (>= 0 with ``allow_zero``): every number in a scenario is a count or a time.

        YAML reads ``.nan`` and ``.inf`` as floats; a NaN mark or limit would
        make every comparison false and the clocks silently never fire.
        """
        value = self.get(obj, key, path, types, required=required, default=default)
        if value is None:
            return None
        where = f"{path}.{key}" if path else key
        if not math.isfinite(value):
            self.fail(where, f"must be a finite number, got {value}")
        if value < 0 or (value == 0 and not allow_zero):
            self.fail(where, "must not be negative" if allow_zero else f"must be positive, got {value:g}")
        return float(value) if float in _as_tuple(types) else value  # counts stay integers

    def scenario_id(self, raw: dict) -> str:
        value = self.get(raw, "id", "", str)
        if not ID_PATTERN.match(value):
            self.fail("id", f"{value!r} is not a valid id: use 1-64 lowercase letters, digits and hyphens, "
                      "starting with a letter or digit (it names session folders)")
        return value

    def root_cause_reveal(self, raw: dict) -> RootCauseReveal | None:
        value = self.get(raw, "root_cause_reveal", "", dict, required=False)
        if value is None:
            return None
        path = "root_cause_reveal"
        self.unknown_keys(value, {"requires", "line", "hidden_terms"}, path)
        groups = self.get(value, "requires", path, list)
        if not groups:
            self.fail(f"{path}.requires", "must list at least one group of phrases")
        requires = []
        for i, group in enumerate(groups):
            where = f"{path}.requires[{i}]"
            if isinstance(group, str):
                group = [group]
            if not isinstance(group, list) or not group or not all(isinstance(p, str) and p.strip() for p in group):
                self.fail(where, "must be a non-empty list of phrases")
            requires.append(list(group))
        return RootCauseReveal(
            requires=requires,
            line=self.get(value, "line", path, str),
            hidden_terms=self.strings(value, "hidden_terms", path, required=False),
        )

    def cross_check(self, s: Scenario) -> None:
        for group, items in (("facts", s.facts), ("mitigations", s.mitigations), ("complications", s.complications)):
            seen: set[str] = set()
            for i, item in enumerate(items):
                if item.id in seen:
                    self.fail(f"{group}[{i}].id", f"duplicate id {item.id!r}")
                seen.add(item.id)
        refs = s.event_refs()
        for i, fact in enumerate(s.facts):
            if fact.after is not None and fact.after not in refs:
                self.fail(f"facts[{i}].after", f"refers to event {fact.after!r}, which does not exist in this scenario")
            if fact.after == f"fact:{fact.id}":
                self.fail(f"facts[{i}].after", "a fact cannot wait for itself")
        for i, m in enumerate(s.mitigations):
            for j, o in enumerate(m.instead):
                if o.after not in refs:
                    self.fail(f"mitigations[{i}].instead[{j}].after", f"refers to event {o.after!r}, which does not exist in this scenario")
        mitigation_ids = {m.id for m in s.mitigations}
        complication_ids = {c.id for c in s.complications}
        for i, c in enumerate(s.complications):
            t = c.trigger
            if t.mitigation is not None and t.mitigation not in mitigation_ids:
                self.fail(f"complications[{i}].trigger.mitigation", f"names mitigation {t.mitigation!r}, which does not exist")
            if t.complication is not None and t.complication not in complication_ids:
                self.fail(f"complications[{i}].trigger.complication", f"names complication {t.complication!r}, which does not exist")
            if t.complication == c.id:
                self.fail(f"complications[{i}].trigger.complication", "a complication cannot follow itself")
            if s.style == "investigation" and t.type in CLOCK_TRIGGERS:
                self.fail(f"complications[{i}].trigger.type", f"{t.type!r} is a mitigation-clock trigger; an investigation has no clock")
        self.check_chains(s)
        if s.style == "incident" and not any(m.outcome == "resolves" for m in s.mitigations):
            self.fail("mitigations", "an incident needs at least one mitigation whose outcome is 'resolves'")
        self.check_hidden_terms(s)

    def check_chains(self, s: Scenario) -> None:
        """An after_complication cycle could never fire; say so instead of shipping dead curveballs."""
        follows = {c.id: c.trigger.complication for c in s.complications if c.trigger.type == "after_complication"}
        for i, c in enumerate(s.complications):
            seen, cur = {c.id}, follows.get(c.id)
            while cur is not None:
                if cur in seen:
                    self.fail(f"complications[{i}].trigger.complication", f"after_complication chain loops back to {cur!r}")
                seen.add(cur)
                cur = follows.get(cur)

    def check_hidden_terms(self, s: Scenario) -> None:
        if s.root_cause_reveal is None:
            return
        for term in s.root_cause_reveal.hidden_terms:
            for where, text in s.public_lines():
                if term.lower() in text.lower():
                    self.fail(where, f"gives away the hidden root cause (contains {term!r}, a root_cause_reveal.hidden_terms entry)")


def unknown_field_problem(key: str, allowed: set[str]) -> str:
    """'unknown field', the closest known name if there is one, and the known names (docs/SCENARIOS.md)."""
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown field ({hint}fields allowed here: {', '.join(repr(k) for k in sorted(allowed))}; see docs/SCENARIOS.md)"


def _as_tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _type_label(types) -> str:
    names = {int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a mapping", bool: "true or false"}
    return " or ".join(names.get(t, t.__name__) for t in _as_tuple(types))


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number", bool: "a boolean", type(None): "nothing"}.get(type(value), type(value).__name__)
