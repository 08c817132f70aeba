"""The scenario state machine: what the interviewer does next.

    director = Director(scenario, seed=0, log=EventLog())
    actions = director.start(t_s)                      # briefing; logs briefing_ended
    actions = director.on_turn(utterance)              # after each labelled candidate turn
    actions = director.on_tick(t_s, speaking_for_s)    # timers; monologue while the candidate talks
    director.phase                                     # triage | mitigate | diagnose | postmortem | end

The director is a pure function of the calls it receives and its seed: the
same scenario, seed and calls give the same actions and events. It only ever
speaks lines written in the scenario (or the short neutral defaults in
scenario.py and here, which carry no facts and no numbers), so it cannot
invent a number, and it says the hidden root cause only through
``root_cause_reveal.line`` once the candidate has earned it.

Phases move forward only (docs/SCENARIOS.md, "Phases"):

- incident: triage → mitigate on a concrete mitigation that fails, worsens or
  is not one the scenario knows; → diagnose on one that is ``partial`` (the
  bleeding slowed, now find the cause); → postmortem on one that
  ``resolves``, or when ``time_limit_s`` runs out.
- investigation: triage → diagnose on the first hypothesis; → postmortem when
  the root cause is earned, a mitigation resolves, or time runs out.
- postmortem → end when every postmortem element has been covered, after
  ``postmortem.max_turns`` candidate turns, or after
  ``DirectorOptions.postmortem_limit_s`` of session time.
"""

from __future__ import annotations

import functools
import logging
import random
import re
from dataclasses import dataclass
from typing import Callable

from voice_interviewer import actions as act
from voice_interviewer import events as ev
from voice_interviewer import labels as lab
from voice_interviewer.actions import Action
from voice_interviewer.events import EventLog
from voice_interviewer.scenario import Complication, Fact, Mitigation, Scenario
from voice_interviewer.utterances import Utterance

logger = logging.getLogger(__name__)

TRIAGE, MITIGATE, DIAGNOSE, POSTMORTEM, END = "triage", "mitigate", "diagnose", "postmortem", "end"
PHASE_ORDER = {TRIAGE: 0, MITIGATE: 1, DIAGNOSE: 2, POSTMORTEM: 3, END: 4}
# Curveballs belong to the live incident; only a `phase` trigger may fire later.
INCIDENT_PHASES = (TRIAGE, MITIGATE, DIAGNOSE)

DIAGNOSTIC_LABELS = frozenset({lab.BLAST_RADIUS, lab.CHANGE_CHECK, lab.SIGNAL_CHECK, lab.DIAGNOSTIC_QUESTION})
# Triggers that answer something the candidate just did: they fire at once.
# The others (timers, streaks, chains) wait for a quiet gap after the last
# curveball, so two pressure lines never land back to back.
REACTIVE_TRIGGERS = frozenset({"mitigation", "topic", "phase"})
# Triggers whose condition is a state that can stop holding (a streak reset by
# a mitigation); the rest are latched by the event that armed them.
CONTINUOUS_TRIGGERS = frozenset({"no_mitigation", "diagnostic_streak", "no_hypothesis", "elapsed", "monologue"})

# 150 words a minute, the middle of conversational English; used to place the
# end of the briefing when the caller does not know it, and by simulate.
WORDS_PER_S = 2.5

# A proposal that names no action on no target. The labeller decides what is
# concrete; these only catch wishes it has no mitigation kind for.
VAGUE_PHRASES = (
    "fix it", "fix this", "fix the issue", "fix the problem", "mitigate it", "mitigate this",
    "sort it out", "sort this out", "make it stop", "do something", "try something",
    "deal with it", "some kind of fix", "work around it", "get it working",
)
DEFAULT_PUSHBACK = ("What specifically would you do, and to what?",)
DEFAULT_ACKNOWLEDGEMENTS = ("Okay.", "Okay, go on.", "Go on.")
DEFAULT_REPEAT = "That's already done."
ELEMENT_NAMES = {
    "timeline": "the timeline",
    "impact": "the impact",
    "root_cause": "the root cause",
    "follow_ups": "the follow-ups",
}
_NUMBERISH = re.compile(r"[A-Za-z$]*\d[\w.,:%/$-]*")


@dataclass
class DirectorOptions:
    """Knobs that are the interviewer's style rather than the scenario's content."""

    complication_gap_s: float = 20.0  # quiet time after a curveball before a timer/streak one
    max_facts_per_turn: int = 2  # an interviewer answers the question asked, not five
    postmortem_limit_s: float = 240.0  # session time in the postmortem before the closing line


def speaking_time_s(text: str) -> float:
    """How long ``text`` takes to say at a conversational pace."""
    return len(text.split()) / WORDS_PER_S


def numbers_in(text: str) -> list[str]:
    """The number-like tokens (12%, v2.3.1, 1:40, 4,000) any rephrasing must keep."""
    return [m.group(0).rstrip(".,:") for m in _NUMBERISH.finditer(text)]


class PhraseMatcher:
    """``analysis.mentions`` for the director: the same normalisation and whole-word rule,
    with each turn's text normalised once and each phrase list compiled into one pattern.

    A turn is matched against every fact, topic, target and postmortem list;
    calling ``mentions`` for each would normalise the same text some thirty
    times, which is most of the director's time on a long turn (bench/bench_director.py).
    """

    def __init__(self, normalise: Callable[[str], str] | None = None):
        if normalise is None:
            from voice_interviewer.analysis import normalise
        self._normalise = normalise
        self._text: str | None = None
        self._normalised = ""

    def __call__(self, text: str, phrases: list[str]) -> bool:
        if text != self._text:
            self._text, self._normalised = text, self._normalise(text)
        pattern = _phrases_pattern(self._normalise, tuple(phrases))
        return pattern is not None and pattern.search(self._normalised) is not None


# Shared by every director in the process: compiling a scenario's thirty-odd
# phrase lists anew for each session made its first turn cost several ms.
@functools.lru_cache(maxsize=4096)
def _phrases_pattern(normalise: Callable[[str], str], phrases: tuple[str, ...]) -> re.Pattern | None:
    alternatives = sorted({re.escape(n) for n in map(normalise, phrases) if n}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile(r"(?<![\w])(?:" + "|".join(alternatives) + r")(?![\w])")


class Director:
    """One interviewer's decisions for one session of one scenario."""

    def __init__(self, scenario: Scenario, seed: int = 0, log: EventLog | None = None,
                 options: DirectorOptions | None = None,
                 mentions: Callable[[str, list[str]], bool] | None = None):
        self.scenario = scenario
        self.seed = seed
        self.log = log if log is not None else EventLog()
        self.options = options or DirectorOptions()
        self._mentions = mentions or PhraseMatcher()
        self._rng = random.Random(seed)

        self.phase = TRIAGE
        self.t0_s: float | None = None
        self.now_s = 0.0
        self.happened: set[str] = set()  # event references (Scenario.event_refs) seen so far
        self.revealed: list[str] = []  # fact ids, in order of first reveal
        self.fired: list[str] = []  # complication ids, in order
        self.applied: list[str] = []  # recognised mitigation ids, in order
        self.first_mitigation_s: float | None = None
        self.root_cause_earned = False

        self._armed: dict[str, float] = {}  # complication id -> when its condition began to hold
        self._fired_groups: set[str] = set()
        self._last_complication_s: float | None = None
        self._diagnostic_streak = 0
        self._questions_since_hypothesis = 0
        self._postmortem_started_s: float | None = None
        self._postmortem_turns = 0
        self._postmortem_covered: set[str] = set()
        self._line_counters: dict[str, int] = {}

    # ------------------------------------------------------------ entry points

    @property
    def done(self) -> bool:
        return self.phase == END

    def start(self, t_s: float = 0.0, briefing_ended_s: float | None = None) -> list[Action]:
        """The briefing, said at ``t_s``; the mitigation clock starts when it ends.

        ``briefing_ended_s`` is when the briefing finished playing (live
        practice knows it from the synthesised audio; simulate estimates it
        with :func:`speaking_time_s`). Without it the clock starts at ``t_s``,
        which is what replay wants: its t0 is already the end of the briefing.
        """
        text = self.scenario.briefing_text
        if self.t0_s is not None:  # the clock starts once
            return []
        self.t0_s = float(briefing_ended_s if briefing_ended_s is not None else t_s)
        self.now_s = max(self.now_s, self.t0_s)
        self.log.append(self.t0_s, ev.BRIEFING_ENDED, scenario=self.scenario.id, seed=self.seed)
        self._enter(TRIAGE, "briefing ended", initial=True)
        return [Action(act.BRIEFING, text, t_s=t_s, required=numbers_in(text))]

    def on_turn(self, utterance: Utterance) -> list[Action]:
        """React to one finished, labelled candidate turn."""
        if self.done or self.t0_s is None:
            return []
        self._advance(utterance.end_s)
        if self._time_is_up():
            return self._enter_postmortem("time limit", timeout=True)
        if self.phase == POSTMORTEM:
            return self._postmortem_turn(utterance)

        actions = self._respond(utterance)
        if self.phase in INCIDENT_PHASES and self._earns_root_cause(utterance.text):
            actions += self._reveal_root_cause(utterance)
        curveball = self._maybe_complicate(speaking_for_s=0.0, turn_s=utterance.end_s - utterance.start_s)
        if curveball and len(actions) == 1 and actions[0].text in DEFAULT_ACKNOWLEDGEMENTS:
            actions = []  # a bare "Okay." before a curveball is dead air
        return actions + curveball

    def on_tick(self, t_s: float, speaking_for_s: float = 0.0) -> list[Action]:
        """Timers. ``speaking_for_s`` > 0 while the candidate is mid-turn."""
        if self.done or self.t0_s is None:
            return []
        self._advance(t_s)
        if self._time_is_up():
            return self._enter_postmortem("time limit", timeout=True)
        if self.phase == POSTMORTEM:
            limit_s = self.options.postmortem_limit_s
            if speaking_for_s <= 0 and self.now_s - self._postmortem_started_s >= limit_s:
                return self._close("postmortem time limit")
        return self._maybe_complicate(speaking_for_s=speaking_for_s)

    # ------------------------------------------------------------ one turn

    def _respond(self, u: Utterance) -> list[Action]:
        text, labels = u.text, set(u.labels)
        is_question = bool(labels & DIAGNOSTIC_LABELS) or text.rstrip().endswith("?")
        self._note_topics(text)
        if lab.HYPOTHESIS in labels:
            self.happened.add("hypothesis")
            self._questions_since_hypothesis = 0
            if self.scenario.style == "investigation":
                self._enter(DIAGNOSE, "first hypothesis")
        if u.concrete_mitigation:
            self._diagnostic_streak = 0
        elif is_question:
            self._diagnostic_streak += 1
            if lab.HYPOTHESIS not in labels:  # a question that tests a stated hypothesis is focused
                self._questions_since_hypothesis += 1

        # Blame is pushed back on, but a mitigation said in the same breath still happens.
        actions = [self._pushback(u, "blame", self.scenario.blame_pushback)] if lab.BLAME in labels else []
        if u.concrete_mitigation:
            return actions + self._mitigate(u)
        if actions:
            return actions
        if u.mitigation_kind is not None or self._mentions(text, list(VAGUE_PHRASES)):
            return [self._pushback(u, "vague", self.scenario.pushback or list(DEFAULT_PUSHBACK))]
        facts, withheld = self._facts_for(text)
        if facts:
            return [self._answer(u, facts)]
        if is_question or withheld:
            return [self._no_info(u)]
        return [self._say(act.ACKNOWLEDGE, self._next_line("ack", list(DEFAULT_ACKNOWLEDGEMENTS)))]

    def _note_topics(self, text: str) -> None:
        for c in self.scenario.complications:
            if c.trigger.type == "topic" and c.id not in self._armed and c.id not in self.fired:
                if self._mentions(text, self.scenario.topics[c.trigger.topic]):
                    self._armed[c.id] = self.now_s

    def _facts_for(self, text: str) -> tuple[list[Fact], bool]:
        """Facts the turn asks about, most specific first; and whether a locked one was asked."""
        matched, withheld = [], False
        for i, fact in enumerate(self.scenario.facts):
            if not self._mentions(text, fact.topics):
                continue
            if fact.after is not None and fact.after not in self.happened:
                withheld = True
                continue
            # Unrevealed before repeated; an unlocked situational fact ("is it
            # better now?" after the rollback) before the general one.
            matched.append((fact.id in self.revealed, fact.after is None, i, fact))
        matched.sort(key=lambda m: m[:3])
        return [m[3] for m in matched[: self.options.max_facts_per_turn]], withheld

    def _answer(self, u: Utterance, facts: list[Fact]) -> Action:
        for fact in facts:
            if fact.id not in self.revealed:
                self.revealed.append(fact.id)
                self.happened.add(f"fact:{fact.id}")
                self.log.append(self.now_s, ev.FACT_REVEALED, fact_id=fact.id, quote=u.text)
        text = " ".join(f.answer for f in facts)
        return self._say(act.ANSWER, text, fact_ids=[f.id for f in facts], required=numbers_in(text))

    def _no_info(self, u: Utterance) -> Action:
        return self._say(act.ANSWER, self._next_line("no_info", self.scenario.no_info))

    def _pushback(self, u: Utterance, reason: str, lines: list[str]) -> Action:
        text = self._next_line(f"pushback:{reason}", lines)
        self.log.append(self.now_s, ev.PUSHBACK, reason=reason, quote=u.text, text=text)
        return self._say(act.PUSHBACK, text)

    # ------------------------------------------------------------ mitigations

    def _mitigate(self, u: Utterance) -> list[Action]:
        mitigation = self._match_mitigation(u)
        first = self.first_mitigation_s is None
        # A turn typed (or spoken over the briefing) before the clock started counts from t0.
        onset_s = max(u.onset_s, self.t0_s)
        if first:
            self.first_mitigation_s = onset_s
        if mitigation is not None and mitigation.id in self.applied:
            return [self._say(act.ACKNOWLEDGE, DEFAULT_REPEAT, mitigation_id=mitigation.id)]
        kind = mitigation.kind if mitigation else (u.mitigation_kind or "other")
        outcome, response = self._effect(mitigation) if mitigation else ("unknown", self.scenario.unrecognised)
        self.log.append(
            self.now_s, ev.MITIGATION, mitigation_id=mitigation.id if mitigation else None, mitigation_kind=kind,
            outcome=outcome, first=first, latency_s=round(onset_s - self.t0_s, 3), quote=u.text,
        )
        self.happened |= {"any_mitigation", f"mitigation_kind:{kind}"}
        if mitigation is None:
            if self.scenario.style == "incident":
                self._enter(MITIGATE, "mitigation not in the scenario")
            return [self._say(act.ACKNOWLEDGE, self.scenario.unrecognised)]

        self.applied.append(mitigation.id)
        self.happened.add(f"mitigation:{mitigation.id}")
        self._arm_mitigation_triggers(mitigation)
        actions = [self._say(act.ACKNOWLEDGE, response, mitigation_id=mitigation.id, required=numbers_in(response))]
        if outcome == "resolves":
            actions += self._enter_postmortem(f"mitigation {mitigation.id} resolves")
        elif outcome == "partial" and self.scenario.style == "incident":
            self._enter(DIAGNOSE, f"mitigation {mitigation.id} is partial")
        elif self.scenario.style == "incident":
            self._enter(MITIGATE, f"mitigation {mitigation.id} {outcome}")
        return actions

    def _effect(self, m: Mitigation) -> tuple[str, str]:
        """Outcome and response, as changed by what has already happened (a rollback that spread the fault)."""
        for o in m.instead:
            if o.after in self.happened:
                return o.outcome, o.response
        return m.outcome, m.response

    def _match_mitigation(self, u: Utterance) -> Mitigation | None:
        """The scenario's mitigation the turn proposes: its kind, and one of its targets named."""
        hint = getattr(u, "mitigation_id", None)  # analysis.label_utterances matched it already
        if hint is not None:
            found = next((m for m in self.scenario.mitigations if m.id == hint), None)
            if found is not None:
                return found
        kind = u.mitigation_kind
        same_kind = [m for m in self.scenario.mitigations if m.kind == kind]
        for m in same_kind:
            if not m.targets or self._mentions(u.text, m.targets):
                return m
        if kind in (None, "other"):
            # The labeller saw an action but not its kind: trust a named target.
            return next((m for m in self.scenario.mitigations if m.targets and self._mentions(u.text, m.targets)), None)
        return None

    def _arm_mitigation_triggers(self, m: Mitigation) -> None:
        for c in self.scenario.complications:
            t = c.trigger
            if t.type != "mitigation" or c.id in self.fired or c.id in self._armed:
                continue
            if (t.kind is None or t.kind == m.kind) and (t.mitigation is None or t.mitigation == m.id):
                self._armed[c.id] = self.now_s

    # ------------------------------------------------------------ root cause, postmortem, end

    def _earns_root_cause(self, text: str) -> bool:
        reveal = self.scenario.root_cause_reveal
        if reveal is None or self.root_cause_earned:
            return False
        allowed = self.scenario.style == "investigation" or self.phase in (DIAGNOSE, POSTMORTEM)
        return allowed and all(self._mentions(text, group) for group in reveal.requires)

    def _reveal_root_cause(self, u: Utterance) -> list[Action]:
        self.root_cause_earned = True
        self.happened.add("root_cause")
        self.log.append(self.now_s, ev.FACT_REVEALED, fact_id="root_cause", earned=True, quote=u.text)
        line = self.scenario.root_cause_reveal.line
        actions = [self._say(act.ANSWER, line, fact_ids=["root_cause"], required=numbers_in(line))]
        if self.scenario.style == "investigation" and self.phase in INCIDENT_PHASES:
            actions += self._enter_postmortem("root cause found")
        return actions

    def _enter_postmortem(self, reason: str, timeout: bool = False) -> list[Action]:
        self._enter(POSTMORTEM, reason)
        self._postmortem_started_s = self.now_s
        pm = self.scenario.postmortem
        return [self._say(act.POSTMORTEM_PROMPT, pm.timeout_prompt if timeout else pm.prompt)]

    def _postmortem_turn(self, u: Utterance) -> list[Action]:
        self._postmortem_turns += 1
        actions = []
        if lab.BLAME in u.labels:
            actions.append(self._pushback(u, "blame", self.scenario.blame_pushback))
        if self._earns_root_cause(u.text):
            actions += self._reveal_root_cause(u)
        for name, phrases in self.scenario.postmortem.elements.items():
            if self._mentions(u.text, phrases):
                self._postmortem_covered.add(name)
        missing = [n for n in self.scenario.postmortem.elements if n not in self._postmortem_covered]
        if not missing or self._postmortem_turns >= self.scenario.postmortem.max_turns:
            return actions + self._close("postmortem complete" if not missing else "postmortem turns used")
        if not any(a.intent == act.PUSHBACK for a in actions):
            names = [ELEMENT_NAMES.get(n, n.replace("_", " ")) for n in missing]
            ask = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            actions.append(self._say(act.POSTMORTEM_PROMPT, f"What about {ask}?"))
        return actions + self._maybe_complicate(speaking_for_s=0.0)

    def _close(self, reason: str) -> list[Action]:
        self._enter(END, reason)
        return [self._say(act.CLOSING, self.scenario.closing)]

    def _time_is_up(self) -> bool:
        return self.phase in INCIDENT_PHASES and self.now_s - self.t0_s >= self.scenario.time_limit_s

    # ------------------------------------------------------------ complications

    def _maybe_complicate(self, speaking_for_s: float, turn_s: float = 0.0) -> list[Action]:
        """Fire at most one due complication: highest priority, the seed breaking ties."""
        self._arm_continuous(max(speaking_for_s, turn_s))
        due = [c for c in self.scenario.complications if self._is_due(c, mid_turn=speaking_for_s > 0)]
        if not due:
            return []
        top = max(c.priority for c in due)
        tied = [c for c in due if c.priority == top]
        chosen = tied[0] if len(tied) == 1 else self._rng.choices(tied, weights=[c.weight for c in tied])[0]
        return [self._fire(chosen, speaking_for_s)]

    def _arm_continuous(self, speaking_for_s: float) -> None:
        for c in self.scenario.complications:
            if c.id in self.fired or c.trigger.type not in CONTINUOUS_TRIGGERS:
                continue
            if self._condition_holds(c, speaking_for_s):
                self._armed.setdefault(c.id, self.now_s)
            else:
                self._armed.pop(c.id, None)

    def _condition_holds(self, c: Complication, speaking_for_s: float) -> bool:
        t = c.trigger
        since_t0_s = self.now_s - self.t0_s
        if t.type == "no_mitigation":
            return self.first_mitigation_s is None and since_t0_s >= t.after_s
        if t.type == "elapsed":
            return since_t0_s >= t.after_s
        if t.type == "diagnostic_streak":
            return self._diagnostic_streak >= t.count
        if t.type == "no_hypothesis":
            return self._questions_since_hypothesis >= t.count
        if t.type == "monologue":
            return speaking_for_s >= t.over_s
        return False

    def _is_due(self, c: Complication, mid_turn: bool) -> bool:
        armed_s = self._armed.get(c.id)
        if armed_s is None or c.id in self.fired or (c.group is not None and c.group in self._fired_groups):
            return False
        if self.now_s < armed_s + c.trigger.delay_s:
            return False
        if mid_turn and not c.interrupt:
            return False
        if c.trigger.type == "phase":
            return self.phase == c.trigger.phase
        if self.phase not in INCIDENT_PHASES:
            return False
        if c.trigger.type not in REACTIVE_TRIGGERS and self._last_complication_s is not None:
            return self.now_s - self._last_complication_s >= self.options.complication_gap_s
        return True

    def _fire(self, c: Complication, speaking_for_s: float) -> Action:
        self.fired.append(c.id)
        self._armed.pop(c.id, None)
        if c.group is not None:
            self._fired_groups.add(c.group)
        self._last_complication_s = self.now_s
        self.happened.add(f"complication:{c.id}")
        self.log.append(self.now_s, ev.COMPLICATION, complication_id=c.id, trigger=c.trigger.type,
                        priority=c.priority, interrupt=c.interrupt)
        if c.interrupt and speaking_for_s > 0:
            self.log.append(self.now_s, ev.INTERRUPTION, complication_id=c.id,
                            speaking_for_s=round(speaking_for_s, 3))
        for other in self.scenario.complications:
            t = other.trigger
            if t.type == "after_complication" and t.complication == c.id and other.id not in self.fired:
                self._armed[other.id] = self.now_s
        return self._say(act.COMPLICATION, c.line, complication_id=c.id, interrupt=c.interrupt,
                         required=numbers_in(c.line))

    # ------------------------------------------------------------ helpers

    def _enter(self, phase: str, reason: str, initial: bool = False) -> None:
        """Move forward to ``phase``; never back."""
        if not initial and PHASE_ORDER[phase] <= PHASE_ORDER[self.phase]:
            return
        previous = None if initial else self.phase
        self.phase = phase
        self.happened.add(f"phase:{phase}")
        self.log.append(self.now_s, ev.PHASE_CHANGED, phase=phase, previous=previous, reason=reason)
        logger.debug("phase %s -> %s at %.1fs (%s)", previous, phase, self.now_s, reason)
        for c in self.scenario.complications:
            if c.trigger.type == "phase" and c.trigger.phase == phase and c.id not in self.fired:
                self._armed[c.id] = self.now_s

    def _advance(self, t_s: float) -> None:
        # Callers may deliver a turn a little after a later tick; the clock never runs back.
        self.now_s = max(self.now_s, float(t_s))

    def _next_line(self, key: str, lines: list[str]) -> str:
        # Cycled, not drawn from the seed: the seed is for curveballs alone, so
        # two seeds differ only in what the issue asks them to differ in.
        n = self._line_counters.get(key, 0)
        self._line_counters[key] = n + 1
        return lines[n % len(lines)]

    def _say(self, intent: str, text: str, **fields) -> Action:
        return Action(intent, text, t_s=self.now_s, **fields)
