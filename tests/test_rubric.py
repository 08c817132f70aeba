"""The five dimensions move the right way, with quotes and timestamps behind them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from voice_interviewer import events as ev
from voice_interviewer.analysis import label_utterances
from voice_interviewer.rubric import DIMENSIONS, score_session
from voice_interviewer.scenario import load_scenario

from utterance_helpers import FAST_REVERSIBLE, SLOW_BLAMER, session


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("core-api-500s")


def scored(lines, scenario, events=(), t0_s=0.0):
    utts = session(lines)
    label_utterances(utts, scenario)
    return score_session(utts, list(events), scenario, t0_s)


def assert_well_formed(scores):
    assert set(scores) == set(DIMENSIONS)
    for name, entry in scores.items():
        assert 0 <= entry["score"] <= 4, name
        assert isinstance(entry["to_raise"], str) and entry["to_raise"], name
        for item in entry["evidence"]:
            assert set(item) == {"t_s", "quote", "note"}, name
            assert item["quote"] and item["note"], name


def test_fast_reversible_mitigator_beats_slow_blamer_on_every_dimension(scenario):
    fast, slow = scored(FAST_REVERSIBLE, scenario), scored(SLOW_BLAMER, scenario)
    assert_well_formed(fast)
    assert_well_formed(slow)
    print({d: (fast[d]["score"], slow[d]["score"]) for d in DIMENSIONS})
    for name in DIMENSIONS:
        assert fast[name]["score"] > slow[name]["score"], name
    assert fast["bias_to_action"]["score"] == 4
    assert fast["blameless_postmortem"]["score"] == 4


def test_bias_to_action_quotes_the_first_mitigation_with_its_time(scenario):
    fast = scored(FAST_REVERSIBLE, scenario)["bias_to_action"]
    first = fast["evidence"][0]
    assert first["t_s"] == 31.0
    assert "auth-token-cache flag" in first["quote"]
    assert "31 s after t0" in first["note"]


def test_bias_to_action_falls_with_latency(scenario):
    line = "Let's roll back the auth deploy to v2.3.0."
    by_latency = [scored([(t, line)], scenario)["bias_to_action"]["score"] for t in (20.0, 100.0, 200.0, 400.0)]
    assert by_latency == [4, 3, 2, 1]
    assert scored([(10.0, "which endpoints are failing?")], scenario)["bias_to_action"]["score"] == 0
    assert scored([(10.0, "should we roll back?")], scenario)["bias_to_action"]["score"] == 1


def test_waiting_long_after_naming_the_cause_costs_a_point(scenario):
    prompt = [(10.0, "I think the auth deploy at 1:40 is the cause."), (55.0, "Let's roll back the auth deploy.")]
    slow = [(10.0, "I think the auth deploy at 1:40 is the cause."), (100.0, "Let's roll back the auth deploy.")]
    assert scored(prompt, scenario)["bias_to_action"]["score"] == 4
    slow_entry = scored(slow, scenario)["bias_to_action"]
    assert slow_entry["score"] == 2
    assert any("before acting" in e["note"] for e in slow_entry["evidence"])


def test_t0_moves_the_mitigation_clock(scenario):
    lines = [(150.0, "Turn off the token cache flag now.")]
    assert scored(lines, scenario, t0_s=0.0)["bias_to_action"]["score"] == 2
    assert scored(lines, scenario, t0_s=100.0)["bias_to_action"]["score"] == 4


def test_reversible_first_beats_restart_first(scenario):
    flag = scored([(20.0, "Turn off the token cache flag now.")], scenario)["reversible_mitigation"]["score"]
    restart = scored([(20.0, "Restart the auth pods now.")], scenario)["reversible_mitigation"]["score"]
    scale = scored([(20.0, "Scale out the auth service to 30 pods.")], scenario)["reversible_mitigation"]
    assert flag > restart
    assert scale["score"] == 0  # not reversible, and the scenario says it makes things worse
    assert any("worse" in e["note"] for e in scale["evidence"])


def test_risk_plan_and_verification_raise_reversible_mitigation(scenario):
    bare = [(20.0, "Roll back the auth deploy.")]
    planned = [(20.0, "Roll back the auth deploy. v2.3.0 is known good, and if the errors don't drop we'll turn off the flag."),
               (30.0, "I'll watch the error rate to confirm.")]
    assert scored(bare, scenario)["reversible_mitigation"]["score"] == 2
    entry = scored(planned, scenario)["reversible_mitigation"]
    assert entry["score"] == 4
    assert any("known good" in e["quote"] for e in entry["evidence"])


def test_signal_usage_counts_each_kind_of_check_and_verification(scenario):
    none = scored([(5.0, "Roll back the auth deploy.")], scenario)["signal_usage"]
    some = scored([(2.0, "Which regions are affected?"), (8.0, "Any deploys in the last 24 hours?"),
                   (15.0, "Roll back the auth deploy.")], scenario)["signal_usage"]
    assert none["score"] == 0 and "blast" not in none["to_raise"].lower()
    assert some["score"] == 2
    assert "signal" in some["to_raise"]
    assert {e["t_s"] for e in some["evidence"]} == {2.0, 8.0}


def test_vague_questions_and_reasking_lower_diagnostic_precision(scenario):
    good = scored([(2.0, "Which endpoints are failing?"), (8.0, "What changed in the last 24 hours?"),
                   (15.0, "I think it's the auth deploy."), (20.0, "What does the auth database connection pool look like?")],
                  scenario)["diagnostic_precision"]
    vague = scored([(2.0, "What's going on?"), (8.0, "What is happening?"), (15.0, "Any ideas?"),
                    (20.0, "What's wrong?")], scenario)["diagnostic_precision"]
    assert good["score"] == 4
    assert vague["score"] == 0
    assert any("vague" in e["note"] for e in vague["evidence"])

    lines = [(2.0, "Were there any deploys?"), (20.0, "What deploys went out?"), (30.0, "Any recent deploys?"),
             (40.0, "Which endpoints are failing?")]
    events = [ev.Event(5.0, ev.FACT_REVEALED, {"fact_id": "deploys"})]
    reasked = scored(lines, scenario, events=events)["diagnostic_precision"]
    assert any("already answered" in e["note"] for e in reasked["evidence"])
    fresh = scored(lines[:1] + lines[3:], scenario, events=events)["diagnostic_precision"]
    assert reasked["score"] < fresh["score"] + 1


def test_postmortem_needs_quantified_impact_and_a_hedged_root_cause(scenario):
    lines = FAST_REVERSIBLE[:7] + [
        (300.0, "For the postmortem: the deploy went out at 1:40 and errors started at 1:45."),
        (312.0, "Impact was that a lot of logins failed."),
        (322.0, "The root cause is the token cache opening a connection per request."),
        (334.0, "Follow ups: alert on connection saturation."),
    ]
    entry = scored(lines, scenario)["blameless_postmortem"]
    assert entry["score"] == 2
    notes = " ".join(e["note"] for e in entry["evidence"])
    assert "not quantified" in notes and "stated as certain" in notes


def test_blame_lowers_the_postmortem_and_is_quoted(scenario):
    blameless = scored(FAST_REVERSIBLE, scenario)["blameless_postmortem"]
    blaming = scored(FAST_REVERSIBLE + [(345.0, "Honestly this is the auth team's fault, they never test anything.")],
                     scenario)["blameless_postmortem"]
    assert blaming["score"] == blameless["score"] - 1
    quote = next(e for e in blaming["evidence"] if "blame" in e["note"])
    assert quote["t_s"] == 345.0 and "fault" in quote["quote"]
    assert "blame" in blaming["to_raise"]


def test_postmortem_phase_event_marks_where_the_postmortem_starts(scenario):
    lines = [(20.0, "Turn off the token cache flag now."),
             (200.0, "Errors started at 1:45 and stopped at 2:05, about 12 percent of logins failed."),
             (210.0, "We think the token cache leaked connections; follow up with a load test.")]
    events = [ev.Event(190.0, ev.PHASE_CHANGED, {"phase": "postmortem", "previous": "mitigate", "reason": "resolved"})]
    assert scored(lines, scenario, events=events)["blameless_postmortem"]["score"] == 4


def test_investigation_style_scores_hypotheses_not_the_clock(scenario):
    investigation = replace(scenario, style="investigation")
    hypothesis_driven = [(10.0, "My hypothesis is the auth deploy at 1:40."), (15.0, "What changed in that deploy?"),
                         (40.0, "Now I suspect the token cache instead."), (45.0, "What's the auth database connection count?")]
    questions_only = [(10.0, "Which endpoints are failing?"), (15.0, "What changed?"), (40.0, "What do the logs say?")]
    driven = scored(hypothesis_driven, investigation)["bias_to_action"]
    asking = scored(questions_only, investigation)["bias_to_action"]
    assert driven["score"] == 4 and asking["score"] == 1
    assert "hypothesis" in asking["to_raise"]
    # The same questions in the incident style are judged by the (absent) mitigation.
    assert scored(hypothesis_driven, scenario)["bias_to_action"]["score"] == 0


def test_unlabelled_utterances_are_labelled_before_scoring(scenario):
    utts = session(FAST_REVERSIBLE)
    assert score_session(utts, [], scenario, 0.0)["bias_to_action"]["score"] == 4


def test_a_statement_of_intent_is_quoted_as_a_check_not_a_question(scenario):
    # Blind evaluation: "Then I'll watch the error rate on the dashboard" was cited as "(a specific question)".
    got = scored([(2.0, "Then I'll watch the error rate on the dashboard"),
                  (8.0, "which regions are affected,"),  # tiny.en ended the question on a comma
                  (15.0, "I think it's the auth deploy.")], scenario)["diagnostic_precision"]
    notes = {e["quote"]: e["note"] for e in got["evidence"]}
    assert notes["Then I'll watch the error rate on the dashboard"] == "a specific check"
    assert notes["which regions are affected,"] == "a specific question"
