"""The five scored dimensions, 0-4 each, with the quotes that earned or lost the points.

:func:`score_session` is a pure function of the labelled utterances, the
event log, the scenario and t0. Each dimension returns::

    {"score": 0..4, "evidence": [{"t_s", "quote", "note"}], "to_raise": "what would have raised it"}

How each is scored (points are added, then clamped to 0-4):

- **bias_to_action** (incident style): the first concrete mitigation's
  latency against the scenario's ``mitigation_mark_s`` (M): within M/2 -> 4,
  within M -> 3, within 2M -> 2, later -> 1, never -> 0 (1 if a mitigation was
  proposed but never committed to). One point off when the cause was named
  (a hypothesis or a change check) more than DIAGNOSIS_TO_ACTION_S before
  acting on it. In the *investigation* style there is no mitigation clock:
  a hypothesis stated (1), the first within M (+1), one tested by a
  following question or check (+1), and a second hypothesis (+1).
- **signal_usage**: one point each for a blast-radius question, a change
  check and a signal check made before the first mitigation (or at all, when
  there is none), and one for verifying the mitigation afterwards (a signal
  check after it, or "watch the error rate" in the same breath).
- **diagnostic_precision**: asked questions or stated checks (1), most of
  them specific — a named service, metric, number or scenario term — (+1),
  a hypothesis (+1) that was tested by a check or acted on (+1); minus one
  for re-asking two or more facts already answered, minus one for three or more vague questions
  ("what's going on?"). Evidence calls an utterance "a question" only when
  it asks (``analysis.asks_question``: "?", word order, "can you tell me");
  "I'll watch the error rate on the dashboard" is quoted as "a check".
- **reversible_mitigation**: the first concrete mitigation reversible
  (flag off, rollback, config revert, failover, rate limit, freeze, block)
  -> 2, otherwise 1; +1 for risks or a rollback plan said aloud ("if that
  doesn't work", "we can turn it back on", "it's instant and reversible");
  +1 for a fallback or verification. Reaching for restart/scale-out first
  when the scenario has a reversible fix caps it at 2; a mitigation the
  scenario says makes things worse costs a point.
- **blameless_postmortem**: one point each for a timeline, a *quantified*
  impact, a root cause *labelled as a hypothesis*, and follow-ups, found by
  the scenario's ``postmortem.elements`` phrases (and generic ones) in the
  postmortem part of the session; minus one per blaming utterance, quoted.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Iterable

from voice_interviewer import events as ev
from voice_interviewer import labels as lab
from voice_interviewer.analysis import (ONSET_TOLERANCE_S, asks_question, first_of, label_text, label_utterances,
                                     mentions, normalise)
from voice_interviewer.utterances import CANDIDATE, Utterance

logger = logging.getLogger(__name__)

DIMENSIONS = ("bias_to_action", "signal_usage", "diagnostic_precision", "reversible_mitigation", "blameless_postmortem")
MAX_SCORE = 4
# Naming the cause and then waiting longer than this to act costs a point: the
# interviewer's "you knew, why didn't you act?".
DIAGNOSIS_TO_ACTION_S = 60.0
# A hypothesis is "tested" when one of the next few candidate utterances checks it.
HYPOTHESIS_TEST_WINDOW = 2
SPECIFIC_SHARE = 0.6
VAGUE_LIMIT = 3
REASK_LIMIT = 2
QUOTE_CHARS = 160

REVERSIBLE_KINDS = frozenset({"flag_off", "rollback", "config_revert", "failover", "rate_limit", "freeze_deploys", "block"})
RISKY_FIRST_KINDS = frozenset({"restart", "scale_out", "restore", "other"})
KIND_VERBS = {
    "rollback": "roll back", "flag_off": "turn off", "config_revert": "revert", "failover": "fail over from",
    "scale_out": "scale out", "restart": "restart", "rate_limit": "rate-limit", "block": "block",
    "restore": "restore", "freeze_deploys": "freeze", "other": "act on",
}

VAGUE_QUESTION_RE = re.compile(
    r"\b(?:what is going on|what is happening|what is wrong|what is up|any ideas|what do we know|anything else|"
    r"tell me more|what else|what do you see|where do (?:we|i) start|what should i (?:look at|do)|what is the issue|"
    r"what is the problem|what happened)\b"
)
SPECIFIC_RE = re.compile(r"\d|\bv\d")
RISK_PLAN_RE = re.compile(
    r"\b(?:if (?:that|it|this|the \w+) (?:does not|did not|is not|fails|will not|can not)|if the errors? (?:do not|does not|stay|persist|keep)|"
    r"if (?:that|it) (?:still|makes it worse)|(?:turn|switch|flip) (?:it|that|the flag) back on|roll (?:it )?forward|"
    r"(?:we can|we could|easy to|able to|can always) (?:roll (?:it )?back|revert|turn it back on|undo)|reversible|"
    r"risks?|risky|downside|trade ?off|side effects?|fall ?back|plan b|in flight|known good|instant(?:ly)?|"
    r"safe(?:st)? (?:fix|option|bet|thing)|back out|blast radius of)\b"
)
VERIFY_RE = re.compile(r"\b(?:watch|watching|confirm|verify|keep an eye|monitor|check (?:that|whether|if))\b")
# Generic postmortem evidence, beside the scenario's own phrases.
GENERIC_ELEMENTS = {
    "timeline": re.compile(r"\b(?:at \d{1,2}(?: \d\d)?(?: am| pm)?|timeline|minutes later|first alert|started at|then at|by \d{1,2} \d\d)\b"),
    "impact": re.compile(r"\b(?:\d+ percent|\d+ (?:minutes|users|customers|requests|logins|orders|accounts)|impact|affected)\b"),
    "root_cause": re.compile(r"\b(?:root cause|caused by|the cause|because|triggered by|due to)\b"),
    "follow_ups": re.compile(r"\b(?:follow ?ups?|action items?|we will add|add (?:a|an)|alert on|canary|load test|going forward|next time|owner)\b"),
}
HEDGED_CAUSE_RE = re.compile(
    r"\b(?:we think|i think|likely|probably|hypothesis|appears|suspect|best guess|our understanding|looks like|"
    r"seems|believe|pending|to be confirmed|not yet confirmed|working theory|most likely)\b"
)
QUESTION_LABELS = frozenset({lab.BLAST_RADIUS, lab.CHANGE_CHECK, lab.SIGNAL_CHECK, lab.DIAGNOSTIC_QUESTION})
PRESSURE_TRIGGERS = frozenset({"no_mitigation", "diagnostic_streak", "monologue"})


@dataclass
class _Session:
    candidate: list[Utterance]  # after t0, in order, labelled
    events: list[ev.Event]
    scenario: Any
    t0_s: float
    first: Utterance | None  # the first concrete mitigation
    postmortem_s: float | None  # where the postmortem part starts


def score_session(utterances: Iterable[Utterance], events: Iterable[Any], scenario, t0_s: float) -> dict[str, dict]:
    """Score the five dimensions (module docstring) from the labelled utterances and the log."""
    session = _session(list(utterances), [_as_event(e) for e in events], scenario, t0_s)
    scores = {
        "bias_to_action": _bias_to_action(session),
        "signal_usage": _signal_usage(session),
        "diagnostic_precision": _diagnostic_precision(session),
        "reversible_mitigation": _reversible_mitigation(session),
        "blameless_postmortem": _blameless_postmortem(session),
    }
    logger.info("rubric: %s", ", ".join(f"{k} {v['score']}" for k, v in scores.items()))
    return scores


def _session(utterances: list[Utterance], events: list[ev.Event], scenario, t0_s: float) -> _Session:
    candidate = sorted((u for u in utterances if u.speaker == CANDIDATE), key=lambda u: u.onset_s)
    if candidate and not any(u.labels or u.concrete_mitigation for u in candidate):
        label_utterances(candidate, scenario)  # a caller that skipped the analyser still gets a score
    candidate = [u for u in candidate if u.onset_s >= t0_s - ONSET_TOLERANCE_S]
    first = first_of(candidate, lab.CONCRETE_MITIGATION, t0_s)
    return _Session(candidate, events, scenario, t0_s, first, _postmortem_start(candidate, events, first))


def _postmortem_start(candidate: list[Utterance], events: list[ev.Event], first: Utterance | None) -> float | None:
    for e in events:
        if e.kind == ev.PHASE_CHANGED and e.data.get("phase") == "postmortem":
            return e.t_s
    after_s = first.onset_s if first is not None else float("-inf")
    for u in candidate:
        if lab.POSTMORTEM in u.labels and u.onset_s > after_s:
            return u.onset_s
    return None


# ---------------------------------------------------------------- dimensions


def _bias_to_action(s: _Session) -> dict:
    if s.scenario.style == "investigation":
        return _hypothesis_drive(s)
    mark_s = s.scenario.mitigation_mark_s
    example = _example_mitigation(s.scenario)
    evidence = _pressure_evidence(s)
    if s.first is None:
        proposals = [u for u in s.candidate if u.mitigation_kind and not u.concrete_mitigation]
        evidence = [_item(u, f"proposed a {u.mitigation_kind} but did not commit to it with a target") for u in proposals[:2]] + evidence
        return _result(1 if proposals else 0, evidence,
                       f"Commit to one specific action with a named target inside {mark_s:.0f} s, e.g. \"{example}\".")
    latency_s = max(0.0, s.first.onset_s - s.t0_s)
    score = 4 if latency_s <= mark_s / 2 else 3 if latency_s <= mark_s else 2 if latency_s <= 2 * mark_s else 1
    verdict = "inside" if latency_s <= mark_s else "after"
    evidence = [_item(s.first, f"first concrete mitigation {latency_s:.0f} s after t0, {verdict} the {mark_s:.0f} s mark")] + evidence
    diagnosis = _first_before(s.candidate, (lab.HYPOTHESIS, lab.CHANGE_CHECK), s.first.onset_s)
    if diagnosis is not None and s.first.onset_s - diagnosis.onset_s > DIAGNOSIS_TO_ACTION_S and score > 1:
        score -= 1
        evidence.append(_item(diagnosis, f"the likely cause was on the table {s.first.onset_s - diagnosis.onset_s:.0f} s before acting on it"))
    if score == MAX_SCORE:
        to_raise = "Already at the top: keep acting first and diagnosing after the bleeding stops."
    else:
        to_raise = (f"Act sooner: propose a reversible mitigation within {mark_s / 2:.0f} s, as soon as the likely cause "
                    f"is on the table, e.g. \"{example}\".")
    return _result(score, evidence, to_raise)


def _hypothesis_drive(s: _Session) -> dict:
    mark_s = s.scenario.mitigation_mark_s
    hypotheses = [u for u in s.candidate if lab.HYPOTHESIS in u.labels]
    questions = [u for u in s.candidate if set(u.labels) & QUESTION_LABELS]
    if not hypotheses:
        evidence = [_item(u, f"a {_asked(u)} without a stated hypothesis") for u in questions[:2]]
        return _result(1 if questions else 0, evidence,
                       "Say what you think is going on (\"my hypothesis is ...\") and ask the question that would confirm or kill it.")
    latency_s = hypotheses[0].onset_s - s.t0_s
    score = 1 + (latency_s <= mark_s)
    evidence = [_item(hypotheses[0], f"first hypothesis {latency_s:.0f} s after t0")]
    tested = _tested_hypotheses(s.candidate)
    if tested:
        score += 1
        evidence.append(_item(tested[0][1], "tests the hypothesis stated just before"))
    if len(hypotheses) >= 2:
        score += 1
        evidence.append(_item(hypotheses[1], "a second, revised hypothesis"))
    to_raise = ("Already at the top: keep leading with hypotheses." if score >= MAX_SCORE else
                f"State a hypothesis within {mark_s:.0f} s, test it with one pointed question, and revise it aloud.")
    return _result(score, evidence, to_raise)


def _signal_usage(s: _Session) -> dict:
    before = [u for u in s.candidate if s.first is None or u.onset_s <= s.first.onset_s]
    checks = {
        lab.BLAST_RADIUS: ("blast radius: who or what is affected", "ask who and what is affected (endpoints, users, regions)"),
        lab.CHANGE_CHECK: ("change check: what changed", "ask what changed (deploys, config pushes in the last 24 h)"),
        lab.SIGNAL_CHECK: ("signal check", "look at a signal (error rate, p99, saturation, logs)"),
    }
    score, evidence, missing = 0, [], []
    for label, (note, advice) in checks.items():
        u = first_of(before, label, s.t0_s)
        if u is not None:
            score += 1
            evidence.append(_item(u, note))
        else:
            missing.append(advice)
    advice = [f"{_sentence_case(_join(missing))} {'before mitigating' if s.first is not None else 'during triage'}."] if missing else []
    verify = _verification(s)
    if verify is not None:
        score += 1
        evidence.append(_item(verify, "verifies the mitigation against a signal"))
    elif s.first is not None:
        advice.append("Say how you'll know the mitigation worked (\"watch the error rate\").")
    else:
        advice.append("Once you mitigate, verify it against a signal.")
    return _result(score, evidence, "Already at the top." if score >= MAX_SCORE else " ".join(advice))


def _diagnostic_precision(s: _Session) -> dict:
    end_s = s.postmortem_s if s.postmortem_s is not None else float("inf")
    incident = [u for u in s.candidate if u.onset_s < end_s]
    questions = [u for u in incident if set(u.labels) & QUESTION_LABELS]
    if not questions:
        return _result(0, [], "Ask targeted questions: which endpoints and regions, what changed, what the auth p99 and database connections look like.")
    specific = [u for u in questions if _specific(u.text, s.scenario)]
    vague = [u for u in questions if VAGUE_QUESTION_RE.search(normalise(u.text))]
    hypotheses = [u for u in incident if lab.HYPOTHESIS in u.labels]
    tested = _tested_hypotheses(incident)
    reasks = _reasks(questions, s)
    score, evidence, advice = 1, [], []
    if len(specific) / len(questions) >= SPECIFIC_SHARE:
        score += 1
        evidence += [_item(u, f"a specific {_asked(u)}") for u in specific[:2]]
    else:
        advice.append("name the service, metric or time window in each question")
    if hypotheses:
        score += 1
        evidence.append(_item(hypotheses[0], "states a hypothesis"))
        if tested:
            score += 1
            evidence.append(_item(tested[0][1], "tests or acts on it"))
        else:
            advice.append("test your hypothesis with the one check that would confirm or refute it")
    else:
        advice.append("say your hypothesis out loud and test it")
    if len(reasks) >= REASK_LIMIT:
        score -= 1
        evidence += [_item(u, f"asks again about {fact}, already answered") for u, fact in reasks[:2]]
        advice.append("don't re-ask what was already answered")
    if len(vague) >= VAGUE_LIMIT:
        score -= 1
        evidence += [_item(u, "a vague question") for u in vague[:2]]
        advice.append("replace open questions (\"what's going on?\") with specific ones")
    to_raise = "Already at the top." if score >= MAX_SCORE and not advice else _sentence_case(_join(advice)) + "."
    return _result(score, evidence, to_raise)


def _reversible_mitigation(s: _Session) -> dict:
    after_t0 = s.candidate
    plan = next((u for u in after_t0 if RISK_PLAN_RE.search(normalise(u.text)) and _before_postmortem(u, s)), None)
    reversible_fix = _reversible_fix(s.scenario)
    if s.first is None:
        evidence = [_item(plan, "weighs risk or a rollback plan")] if plan else []
        return _result(1 if plan else 0, evidence,
                       f"Commit to a reversible mitigation first{f' ({reversible_fix})' if reversible_fix else ''}, "
                       "say its risk and how you would undo it.")
    kind = s.first.mitigation_kind
    score = 2 if kind in REVERSIBLE_KINDS else 1
    evidence = [_item(s.first, f"first mitigation is a {kind}" + (" (reversible)" if kind in REVERSIBLE_KINDS else " (not easily reversed)"))]
    advice = []
    outcome = _outcome(s.first, s.scenario)
    if outcome == "worsens":
        score -= 1
        evidence.append(_item(s.first, "in this scenario that makes things worse"))
    if plan is not None:
        score += 1
        evidence.append(_item(plan, "weighs risk or says how to undo it"))
    else:
        advice.append("say the risk and how you'd undo it (\"it's instant and reversible; if it doesn't help we ...\")")
    fallback = _fallback_or_verify(s)
    if fallback is not None:
        score += 1
        evidence.append(_item(fallback, "has a fallback or verifies the result"))
    else:
        advice.append("name a fallback and the signal you'll watch (\"if the error rate doesn't drop, we ...\")")
    if kind in RISKY_FIRST_KINDS and reversible_fix and score > 2:
        score = 2
        advice.insert(0, f"lead with the reversible option ({reversible_fix}) before a {kind}")
    elif kind in RISKY_FIRST_KINDS and reversible_fix:
        advice.insert(0, f"lead with the reversible option ({reversible_fix}) before a {kind}")
    to_raise = "Already at the top." if score >= MAX_SCORE else _sentence_case(_join(advice)) + "."
    return _result(score, evidence, to_raise)


def _blameless_postmortem(s: _Session) -> dict:
    blame = [u for u in s.candidate if lab.BLAME in u.labels]
    blame_evidence = [_item(u, "blames a person or team; a blameless postmortem names systems and gaps") for u in blame]
    if s.postmortem_s is None:
        return _result(0, blame_evidence,
                       "Walk through a postmortem: the timeline, the impact in numbers, the root cause as a hypothesis, "
                       "and follow-ups with owners" + ("; and leave blame out." if blame else "."))
    part = [u for u in s.candidate if u.onset_s >= s.postmortem_s - ONSET_TOLERANCE_S]
    elements = getattr(s.scenario.postmortem, "elements", {}) or {}
    score, evidence, advice = 0, [], []
    for element in lab.POSTMORTEM_ELEMENTS:
        u = next((u for u in part if _has_element(u.text, element, elements)), None)
        name = element.replace("_", " ")
        if u is None:
            advice.append({"timeline": "give a timeline with times", "impact": "quantify the impact (percent, minutes, users)",
                           "root_cause": "state the root cause, labelled as a hypothesis",
                           "follow_ups": "list follow-ups with owners"}[element])
            continue
        if element == "impact" and not re.search(r"\d", normalise(u.text)):
            evidence.append(_item(u, "impact, but not quantified"))
            advice.append("put a number on the impact")
            continue
        if element == "root_cause" and not (lab.HYPOTHESIS in u.labels or HEDGED_CAUSE_RE.search(normalise(u.text))):
            evidence.append(_item(u, "root cause stated as certain"))
            advice.append("label the root cause as a hypothesis until it is confirmed")
            continue
        score += 1
        evidence.append(_item(u, {"timeline": "timeline", "impact": "quantified impact",
                                  "root_cause": "root cause, labelled as a hypothesis", "follow_ups": "follow-ups"}.get(element, name)))
    if blame:
        score -= len(blame)
        evidence += blame_evidence
        advice.append("drop the blame: describe what the system allowed, not who slipped")
    to_raise = "Already at the top." if score >= MAX_SCORE and not advice else _sentence_case(_join(advice)) + "."
    return _result(score, evidence, to_raise)


# ---------------------------------------------------------------- helpers


def _asked(u: Utterance) -> str:
    """"question" when it asks; "check" for a statement of intent such as "I'll watch the error rate"."""
    return "question" if asks_question(u.text) else "check"


def _item(u: Utterance, note: str) -> dict:
    text = " ".join(u.text.split())
    quote = text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "\u2026"
    return {"t_s": round(u.onset_s, 2), "quote": quote, "note": note}


def _result(score: int, evidence: list[dict], to_raise: str) -> dict:
    return {"score": int(max(0, min(MAX_SCORE, score))), "evidence": evidence, "to_raise": to_raise}


def _join(parts: list[str]) -> str:
    parts = list(dict.fromkeys(parts))
    if len(parts) <= 1:
        return "".join(parts)
    return "; ".join(parts[:-1]) + "; and " + parts[-1]


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _as_event(e: Any) -> ev.Event:
    return e if isinstance(e, ev.Event) else ev.Event.from_json(e)


def _first_before(candidate: list[Utterance], labels: tuple[str, ...], before_s: float) -> Utterance | None:
    return next((u for u in candidate if u.onset_s < before_s and set(u.labels) & set(labels)), None)


def _pressure_evidence(s: _Session) -> list[dict]:
    """Complications the interviewer used to push for action before the first mitigation."""
    until_s = s.first.onset_s if s.first is not None else float("inf")
    found = []
    for e in s.events:
        if e.kind == ev.COMPLICATION and e.data.get("trigger") in PRESSURE_TRIGGERS and e.t_s < until_s:
            line = _complication_line(s.scenario, e.data.get("complication_id"))
            found.append({"t_s": round(e.t_s, 2), "quote": line, "note": "the interviewer had to press for action"})
    return found[:2]


def _complication_line(scenario, complication_id: str | None) -> str:
    for c in scenario.complications:
        if c.id == complication_id:
            return c.line
    return str(complication_id)


def _example_mitigation(scenario) -> str:
    best = _best_mitigation(scenario)
    if best is None:
        return "roll back the last deploy of the failing service now"
    target = best.targets[0] if best.targets else "it"
    return f"I'm going to {KIND_VERBS.get(best.kind, 'act on')} {target} now"


def _best_mitigation(scenario):
    ranked = sorted(scenario.mitigations, key=lambda m: (
        ("resolves", "partial", "fails", "worsens").index(m.outcome) if m.outcome in ("resolves", "partial", "fails", "worsens") else 9,
        m.kind not in REVERSIBLE_KINDS))
    return ranked[0] if ranked else None


def _reversible_fix(scenario) -> str | None:
    best = _best_mitigation(scenario)
    if best is None or best.kind not in REVERSIBLE_KINDS or best.outcome not in ("resolves", "partial"):
        return None
    target = best.targets[0] if best.targets else ""
    return f"{KIND_VERBS.get(best.kind, best.kind)} {target}".strip()


def _outcome(u: Utterance, scenario) -> str | None:
    mitigation_id = getattr(u, "mitigation_id", None)
    if mitigation_id is None:
        mitigation_id = label_text(u.text, scenario).mitigation_id
    for m in scenario.mitigations:
        if m.id == mitigation_id:
            return m.outcome
    return None


def _verification(s: _Session) -> Utterance | None:
    if s.first is None:
        return None
    if VERIFY_RE.search(normalise(s.first.text)):
        return s.first
    return next((u for u in s.candidate if u.onset_s > s.first.onset_s and _before_postmortem(u, s)
                 and (lab.SIGNAL_CHECK in u.labels or VERIFY_RE.search(normalise(u.text)))), None)


def _fallback_or_verify(s: _Session) -> Utterance | None:
    """A second mitigation kept in reserve ("if that doesn't help we ..."), or a check that the first worked."""
    assert s.first is not None
    for u in s.candidate:
        if u.onset_s < s.first.onset_s or not _before_postmortem(u, s):
            continue
        result = label_text(u.text, s.scenario)
        kept_in_reserve = any(r.endswith(("conditional", "option")) for r in result.reasons)
        if kept_in_reserve or (u is s.first and len(result.mentioned_kinds) >= 2):
            return u
    return _verification(s)


def _before_postmortem(u: Utterance, s: _Session) -> bool:
    return s.postmortem_s is None or u.onset_s < s.postmortem_s


def _tested_hypotheses(candidate: list[Utterance]) -> list[tuple[Utterance, Utterance]]:
    pairs = []
    for i, u in enumerate(candidate):
        if lab.HYPOTHESIS not in u.labels:
            continue
        for later in candidate[i + 1: i + 1 + HYPOTHESIS_TEST_WINDOW]:
            if set(later.labels) & QUESTION_LABELS or later.concrete_mitigation:
                pairs.append((u, later))
                break
    return pairs


def _specific(text: str, scenario) -> bool:
    norm = normalise(text)
    if VAGUE_QUESTION_RE.search(norm):
        return False
    if SPECIFIC_RE.search(norm):
        return True
    if scenario is not None and mentions(text, list(scenario.vocabulary)):
        return True
    return bool(re.search(r"\b(?:auth|api|database|db|postgres|redis|cache|cdn|dns|cert|p99|latency|error rate|cpu|"
                          r"memory|connections|pool|endpoints?|regions?|deploys?|release|config|logs|traces|dashboards?|"
                          r"users|customers|replica|queue|lag|deployed|deployment|changed|last day|last hour|24 hours|tonight|"
                          r"since|flag|timeouts?|errors? (?:rate|messages?))\b", norm))


def _reasks(questions: list[Utterance], s: _Session) -> list[tuple[Utterance, str]]:
    """Questions about a fact the interviewer had already revealed (or asked twice with no log)."""
    revealed_s: dict[str, float] = {}
    for e in s.events:
        if e.kind == ev.FACT_REVEALED and e.data.get("fact_id"):
            revealed_s.setdefault(str(e.data["fact_id"]), e.t_s)
    asked: dict[str, float] = {}
    found = []
    for u in questions:
        for fact in s.scenario.facts:
            if not mentions(u.text, fact.topics):
                continue
            answered_s = revealed_s.get(fact.id)
            if (answered_s is not None and answered_s < u.onset_s and fact.id in asked) or (not revealed_s and fact.id in asked):
                found.append((u, fact.id))
            asked.setdefault(fact.id, u.onset_s)
    return found


def _has_element(text: str, element: str, elements: dict[str, list[str]]) -> bool:
    phrases = elements.get(element, [])
    if phrases and mentions(text, phrases):
        return True
    pattern = GENERIC_ELEMENTS.get(element)
    return bool(pattern and pattern.search(normalise(text)))
