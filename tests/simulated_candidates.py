"""Scripted text candidates of varying skill, derived from any scenario.

Each candidate is a function ``scenario -> list[Turn]`` (times relative to the
end of the briefing). Their lines are built from the scenario itself (its
facts' topics, its mitigations' ``example`` lines, its paging topic, its
postmortem elements), so they run unchanged against every scenario, a user's
own included. Only lines the real labeller (analysis.label_text) reads the
intended way are used: a question that it would take for a mitigation
proposal, or a mitigation example it does not find concrete, is skipped, so a
failure here is about the director, not about phrasing.
"""

from __future__ import annotations

from voice_interviewer import labels as lab
from voice_interviewer.analysis import label_text, mentions
from voice_interviewer.scenario import Mitigation, Scenario
from voice_interviewer.simulate import Turn

BLAME_LINE = "This is Dave's fault. Whoever pushed that change should be fired."


def askable_questions(s: Scenario) -> list[tuple[str, str]]:
    """(fact id, question) for every fact available from the start, asked in its own words."""
    out = []
    for fact in s.facts:
        if fact.after is not None:
            continue
        for topic in fact.topics:
            question = f"Quick question, {topic}?"
            labelling = label_text(question, s)
            if labelling.mitigation_kind is None and lab.BLAME not in labelling.labels and not _names_a_topic(s, question):
                out.append((fact.id, question))
                break
    return out


def _names_a_topic(s: Scenario, text: str) -> bool:
    return any(mentions(text, phrases) for phrases in s.topics.values())


def recognised(s: Scenario, m: Mitigation) -> bool:
    if not m.example:
        return False
    labelling = label_text(m.example, s)
    return labelling.concrete and labelling.mitigation_kind is not None


def resolving(s: Scenario) -> Mitigation:
    return next(m for m in s.mitigations if m.outcome == "resolves" and recognised(s, m))


def rollback(s: Scenario) -> Mitigation | None:
    return next((m for m in s.mitigations if m.kind == "rollback" and recognised(s, m)), None)


def postmortem_line(s: Scenario) -> str:
    """One turn naming a phrase of every postmortem element."""
    parts = [f"{name.replace('_', ' ')}: {phrases[0]}" for name, phrases in s.postmortem.elements.items()]
    return "For the write-up. " + ". ".join(parts) + "."


def paging_line(s: Scenario) -> str | None:
    phrases = s.topics.get("paging")
    if not phrases:
        return None
    return f"I'm going to {phrases[0]} the engineer who knows this system best."


# ------------------------------------------------------------ the candidates


def fast_mitigator(s: Scenario) -> list[Turn]:
    questions = askable_questions(s)
    return [
        Turn(questions[0][1], 5.0),
        Turn(questions[1][1], 18.0),
        Turn(resolving(s).example, 35.0),
        Turn(postmortem_line(s), 70.0),
    ]


def slow_diagnoser(s: Scenario) -> list[Turn]:
    questions = askable_questions(s)
    turns = [Turn(questions[i % len(questions)][1], 5.0 + 25.0 * i) for i in range(9)]
    return turns + [Turn(resolving(s).example, 240.0), Turn(postmortem_line(s), 280.0)]


def blamer(s: Scenario) -> list[Turn]:
    questions = askable_questions(s)
    return [
        Turn(BLAME_LINE, 5.0),
        Turn(questions[0][1], 20.0),
        Turn(resolving(s).example, 40.0),
        Turn("It was Dave's fault, plain and simple.", 80.0),
        Turn(postmortem_line(s), 110.0),
    ]


def pages_the_expert(s: Scenario) -> list[Turn]:
    questions = askable_questions(s)
    return [
        Turn(questions[0][1], 5.0),
        Turn(paging_line(s), 15.0),
        Turn(resolving(s).example, 45.0),
        Turn(postmortem_line(s), 80.0),
    ]


def rolls_back_blindly(s: Scenario) -> list[Turn]:
    m = rollback(s)
    return [
        Turn(m.example, 3.0),
        Turn(resolving(s).example, 60.0),
        Turn(postmortem_line(s), 100.0),
    ]


def never_mitigates(s: Scenario) -> list[Turn]:
    questions = askable_questions(s)
    end_s = s.time_limit_s + 40.0
    turns, t_s, i = [], 5.0, 0
    while t_s < end_s:
        turns.append(Turn(questions[i % len(questions)][1], t_s))
        t_s += 40.0
        i += 1
    return turns + [Turn(postmortem_line(s), end_s + 20.0)]


CANDIDATES = {
    "fast_mitigator": fast_mitigator,
    "slow_diagnoser": slow_diagnoser,
    "blamer": blamer,
    "pages_the_expert": pages_the_expert,
    "rolls_back_blindly": rolls_back_blindly,
    "never_mitigates": never_mitigates,
}


def hypothesis_driven(s: Scenario) -> list[Turn]:
    """States a hypothesis before each question, then names the cause: what an investigation rewards."""
    questions = askable_questions(s)
    turns = [Turn(f"My hypothesis is that one segment broke. {q}", 5.0 + 20.0 * i)
             for i, (_, q) in enumerate(questions[:5])]
    cause = " and ".join(group[0] for group in s.root_cause_reveal.requires)
    return turns + [Turn(f"I think it's {cause}.", 120.0), Turn(postmortem_line(s), 160.0)]
