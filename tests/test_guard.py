"""The guard: required facts, length, character, root cause, invented numbers."""

from __future__ import annotations

import pytest

from voice_interviewer.actions import Action
from voice_interviewer.guard import (guard_line, invented_numbers, numbers_in, required_strings,
                                     reveals_root_cause)
from voice_interviewer.scenario import builtin_ids, load_scenario


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("core-api-500s")


def db_action(scenario):
    return Action("answer", scenario.fact("database").answer, fact_ids=["database"])


@pytest.mark.parametrize("scenario_id", builtin_ids())
def test_every_scripted_line_passes_its_own_guard(scenario_id):
    scenario = load_scenario(scenario_id)
    lines = [("briefing", scenario.briefing_text), ("postmortem_prompt", scenario.postmortem.prompt),
             ("closing", scenario.closing)]
    lines += [("answer", f.answer) for f in scenario.facts]
    lines += [("acknowledge", m.response) for m in scenario.mitigations]
    lines += [("complication", c.line) for c in scenario.complications]
    lines += [("pushback", p) for p in scenario.pushback]
    for intent, text in lines:
        assert guard_line(text, Action(intent, text), scenario) == (True, ""), text


def test_required_strings_come_from_the_scripted_line(scenario):
    assert required_strings(db_action(scenario)) == ["200", "1:46", "35"]
    flag = Action("answer", scenario.fact("feature-flag").answer)
    assert required_strings(flag) == ["v2.3.1", "auth-token-cache"]
    assert required_strings(Action("answer", "anything", required=["eu-west-1"])) == ["eu-west-1"]


@pytest.mark.parametrize("line", [
    "Right now the auth database is pinned at 200 of 200 connections since 1:46 am, CPU 35%.",
    "Since 1:46 am it has held two hundred of 200 connections; CPU sits at thirty-five percent, 35%.",
])
def test_rephrasing_that_keeps_the_facts_passes(scenario, line):
    assert guard_line(line, db_action(scenario), scenario) == (True, "")


@pytest.mark.parametrize("line, reason", [
    ("The auth database is busy since 1:46 am with 35% CPU.", "leaves out required '200'"),
    ("It is at 200 of 250 connections since 1:46 am, CPU 35%.", "number not in the scenario: 250"),
    ("At 200 of 200 since 1:46 am, 35% CPU, because the connection pool is exhausted.", "reveals the hidden root cause"),
    ("At 200 of 200 since 1:46 am, 35% CPU; token validation is failing.", "reveals the hidden root cause"),
    ("As an AI, I can say it is at 200 of 200 since 1:46 am and 35%.", "out of character"),
    ("Interviewer: 200 of 200. Candidate: ok. 1:46 am, 35%.", "out of character"),
    ("**Database:** 200 of 200 since 1:46 am, 35%.", "out of character"),
    ("I'm sorry, but the database is at 200 of 200 since 1:46 am, 35%.", "out of character"),
    (" ".join(["The auth database is at 200 of 200 connections since 1:46 am at 35% CPU."] * 5), "too long"),
])
def test_bad_lines_are_rejected_with_a_reason(scenario, line, reason):
    ok, why = guard_line(line, db_action(scenario), scenario)
    assert not ok and reason in why


def test_numbers_are_compared_by_value(scenario):
    assert numbers_in("about 4,000 rps, v2.3.1, 2:00 am, twelve percent, two hundred") >= {"4000", "2.3.1", "2", "12", "200"}
    assert invented_numbers("roughly four thousand requests, 12%", scenario) == []
    assert invented_numbers("roughly 17 thousand requests", scenario) == ["17"]


def test_root_cause_terms_are_only_those_no_public_line_uses(scenario):
    # "token cache" and "connections" are public (facts say them); the mechanism is not.
    assert not reveals_root_cause("The new token cache is behind a flag, and connections are at 200.", scenario)
    assert reveals_root_cause("Every token-cache lookup opens a connection.", scenario)
    assert reveals_root_cause("The pool is exhausted.", scenario)
