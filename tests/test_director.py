"""The director's rules, one at a time, on a small scenario written for them.

Utterances are labelled by hand here (labels, kind, concrete) so each test
pins one rule of the director, not the analyser; the phrase matching is the
real analysis.mentions.
"""

from __future__ import annotations

import pytest

from voice_interviewer import labels as lab
from voice_interviewer.actions import INTENTS
from voice_interviewer.director import DEFAULT_REPEAT, Director, DirectorOptions
from voice_interviewer.events import EventLog
from voice_interviewer.scenario import load_scenario, parse_scenario
from voice_interviewer.utterances import Utterance

SMALL = """
schema_version: 1
id: small
title: Small test incident
severity: SEV2
time_limit_s: 600
briefing: "The API is down. What do you do?"
root_cause: "The 3 pm config push set the worker pool to zero."
root_cause_reveal:
  requires: [[config, push], [pool, workers]]
  line: "Right: the config push set the worker pool to zero."
  hidden_terms: [pool to zero]
topics:
  paging: [page, call the]
  customers: [customer, customers]
facts:
  - id: scope
    topics: [who is affected, which regions]
    answer: "All regions, 100% of requests."
  - id: changes
    topics: [what changed, deploys]
    answer: "A config push at 3 pm."
  - id: after-restart
    topics: [is it better]
    answer: "Still down after the restart."
    after: "mitigation:restart"
mitigations:
  - id: revert
    kind: config_revert
    targets: [config, push]
    outcome: resolves
    response: "The config is reverted; the API is back."
  - id: restart
    kind: restart
    targets: [api, servers]
    outcome: partial
    response: "The servers restart; 10% of requests succeed."
  - id: scale
    kind: scale_out
    targets: [servers, capacity]
    outcome: worsens
    response: "New servers get the same config; nothing changes but the bill."
    instead:
      - after: "mitigation:revert"
        outcome: fails
        response: "It's already fixed."
  - id: failover
    kind: failover
    targets: [region]
    outcome: fails
    response: "Every region has the config."
complications:
  - id: pager
    priority: 5
    trigger: {type: topic, topic: paging}
    line: "The config owner is asleep and not answering."
  - id: clock-a
    priority: 3
    trigger: {type: no_mitigation, after_s: 60}
    interrupt: true
    line: "The CEO is asking for an ETA."
  - id: clock-b
    priority: 3
    trigger: {type: no_mitigation, after_s: 60}
    line: "Support has 50 tickets."
  - id: streak
    priority: 2
    group: pressure
    trigger: {type: diagnostic_streak, count: 3}
    line: "Three questions in. What are you changing?"
  - id: streak-twin
    priority: 1
    group: pressure
    trigger: {type: diagnostic_streak, count: 3}
    line: "You've asked enough. Act."
  - id: long-talk
    priority: 4
    trigger: {type: monologue, over_s: 30}
    interrupt: true
    line: "Let me stop you there."
  - id: restart-followup
    priority: 4
    trigger: {type: mitigation, mitigation: restart, delay_s: 10}
    line: "The restarted servers are failing again."
  - id: chain
    priority: 2
    trigger: {type: after_complication, complication: restart-followup}
    line: "And now the database is complaining too."
  - id: pm-bait
    priority: 1
    trigger: {type: phase, phase: postmortem}
    line: "Who pushed that config?"
pushback: ["Which thing, exactly?"]
no_info: ["Not known yet."]
postmortem:
  prompt: "Fixed. Postmortem please."
  max_turns: 2
  elements:
    timeline: [timeline, "3 pm"]
    impact: [impact, "100%"]
    root_cause: [root cause]
    follow_ups: [follow-up]
"""


@pytest.fixture
def small():
    return parse_scenario(SMALL, "small.yaml")


def make(scenario, seed=0, **options):
    director = Director(scenario, seed=seed, log=EventLog(), options=DirectorOptions(**options) if options else None)
    director.start(0.0, briefing_ended_s=5.0)
    return director


def turn(text, end_s, labels=(), kind=None, concrete=False, start_s=None):
    start_s = end_s - 2.0 if start_s is None else start_s
    return Utterance(start_s=start_s, end_s=end_s, text=text, labels=list(labels),
                     mitigation_kind=kind, concrete_mitigation=concrete)


def kinds(director, kind):
    return [e for e in director.log.events if e.kind == kind]


def test_start_logs_briefing_ended_and_enters_triage(small):
    d = Director(small, log=EventLog())
    actions = d.start(1.0, briefing_ended_s=7.5)
    assert [a.intent for a in actions] == ["briefing"] and actions[0].text == small.briefing_text
    assert d.t0_s == 7.5 and d.phase == "triage"
    assert kinds(d, "briefing_ended")[0].t_s == 7.5


def test_start_without_end_time_starts_the_clock_at_once(small):
    d = Director(small, log=EventLog())
    d.start(12.0)
    assert d.t0_s == 12.0  # replay passes t0 itself


def test_question_reveals_the_fact_once_with_its_numbers(small):
    d = make(small)
    [a] = d.on_turn(turn("Who is affected?", 10.0, [lab.BLAST_RADIUS]))
    assert a.intent == "answer" and a.fact_ids == ["scope"] and "100%" in a.required
    d.on_turn(turn("Sorry, who is affected again?", 14.0, [lab.BLAST_RADIUS]))
    assert [e.data["fact_id"] for e in kinds(d, "fact_revealed")] == ["scope"]


def test_unknown_question_gets_the_scenarios_no_info_line(small):
    d = make(small)
    [a] = d.on_turn(turn("What's the weather in the data centre?", 10.0, [lab.DIAGNOSTIC_QUESTION]))
    assert a.text == "Not known yet." and a.fact_ids == []
    assert not kinds(d, "fact_revealed")


def test_fact_waits_for_its_event(small):
    d = make(small)
    [a] = d.on_turn(turn("Is it better?", 10.0, [lab.DIAGNOSTIC_QUESTION]))
    assert a.text == "Not known yet."
    d.on_turn(turn("Restart the API servers now.", 20.0, kind="restart", concrete=True))
    [a] = d.on_turn(turn("Is it better?", 40.0, [lab.DIAGNOSTIC_QUESTION]))[:1]
    assert a.fact_ids == ["after-restart"]


def test_statement_without_question_is_acknowledged_without_facts(small):
    d = make(small)
    [a] = d.on_turn(turn("Okay, I'm thinking.", 10.0))
    assert a.intent == "acknowledge" and not kinds(d, "fact_revealed")


def test_vague_proposal_is_pushed_back(small):
    d = make(small)
    [a] = d.on_turn(turn("Let's just fix it.", 10.0))
    assert a.intent == "pushback" and a.text == "Which thing, exactly?"
    [a] = d.on_turn(turn("Should we restart?", 14.0, kind="restart"))
    assert a.intent == "pushback"
    assert [e.data["reason"] for e in kinds(d, "pushback")] == ["vague", "vague"]
    assert not kinds(d, "mitigation")


def test_blame_is_pushed_back_but_a_mitigation_in_the_same_breath_still_happens(small):
    d = make(small)
    actions = d.on_turn(turn("Bob broke it. Revert the config push.", 10.0, [lab.BLAME], "config_revert", True))
    assert [a.intent for a in actions][:2] == ["pushback", "acknowledge"]
    assert kinds(d, "pushback")[0].data["reason"] == "blame"
    assert kinds(d, "mitigation")[0].data["mitigation_id"] == "revert"


@pytest.mark.parametrize("text,kind,mitigation_id,phase", [
    ("Revert the config push.", "config_revert", "revert", "postmortem"),
    ("Restart the API servers.", "restart", "restart", "diagnose"),
    ("Fail over to another region.", "failover", "failover", "mitigate"),
    ("Scale out the servers.", "scale_out", "scale", "mitigate"),
    ("Block the bots.", "block", None, "mitigate"),
])
def test_outcome_moves_the_phase(small, text, kind, mitigation_id, phase):
    d = make(small)
    actions = d.on_turn(turn(text, 30.0, kind=kind, concrete=True))
    [event] = kinds(d, "mitigation")
    assert event.data["mitigation_id"] == mitigation_id and event.data["first"] is True
    assert event.data["latency_s"] == pytest.approx(30.0 - 2.0 - 5.0)
    assert d.phase == phase
    if mitigation_id is None:
        assert actions[0].text == small.unrecognised
    if phase == "postmortem":
        assert actions[1].intent == "postmortem_prompt" and actions[1].text == small.postmortem.prompt


def test_phases_never_go_back(small):
    d = make(small)
    d.on_turn(turn("Restart the API servers.", 20.0, kind="restart", concrete=True))
    assert d.phase == "diagnose"
    d.on_turn(turn("Fail over the region.", 30.0, kind="failover", concrete=True))
    assert d.phase == "diagnose"


def test_repeated_mitigation_is_already_done(small):
    d = make(small)
    d.on_turn(turn("Fail over the region.", 20.0, kind="failover", concrete=True))
    [a] = d.on_turn(turn("Fail over the region.", 30.0, kind="failover", concrete=True))
    assert a.text == DEFAULT_REPEAT and len(kinds(d, "mitigation")) == 1


def test_instead_changes_the_outcome_after_an_event():
    s = load_scenario("rollback-dead-code")
    d = Director(s, log=EventLog())
    d.start(0.0)
    d.on_turn(turn("Roll back 8.2 now.", 10.0, kind="rollback", concrete=True))
    actions = d.on_turn(turn("Take router-8 out of the pool.", 40.0, kind="failover", concrete=True))
    event = kinds(d, "mitigation")[-1]
    assert event.data["mitigation_id"] == "pull-router-8" and event.data["outcome"] == "partial"
    assert "routers 1 to 7 are still sending" in actions[0].text


def test_topic_curveball_fires_on_the_turn_that_names_it(small):
    d = make(small)
    [a] = d.on_turn(turn("I'll page the config owner.", 10.0, [lab.ESCALATION]))
    assert a.intent == "complication" and a.complication_id == "pager"


def test_timer_ties_are_broken_by_the_seed_and_both_fire_in_turn(small):
    orders = set()
    for seed in range(10):
        d = make(small, seed=seed)
        for t in range(6, 120):
            d.on_tick(float(t))
        assert sorted(d.fired) == ["clock-a", "clock-b"]
        assert d._last_complication_s is not None
        orders.add(tuple(d.fired))
    assert orders == {("clock-a", "clock-b"), ("clock-b", "clock-a")}


def test_same_seed_same_order(small):
    def fired(seed):
        d = make(small, seed=seed)
        for t in range(6, 120):
            d.on_tick(float(t))
        return d.fired, [e.to_json() for e in d.log.events]
    assert fired(4) == fired(4)


def test_timer_curveballs_keep_a_gap(small):
    d = make(small, complication_gap_s=20.0)
    for t in range(6, 120):
        d.on_tick(float(t))
    times = [e.t_s for e in kinds(d, "complication")]
    assert times[0] == 65.0 and times[1] - times[0] >= 20.0


def test_higher_priority_wins_and_a_group_fires_once(small):
    d = make(small)
    for i, t in enumerate((10.0, 14.0, 18.0, 22.0, 26.0)):
        d.on_turn(turn(f"Which regions, part {i}?", t, [lab.BLAST_RADIUS]))
    assert "streak" in d.fired and "streak-twin" not in d.fired


def test_mitigation_resets_the_streak(small):
    d = make(small)
    d.on_turn(turn("Which regions?", 10.0, [lab.BLAST_RADIUS]))
    d.on_turn(turn("What changed?", 14.0, [lab.CHANGE_CHECK]))
    d.on_turn(turn("Fail over the region.", 18.0, kind="failover", concrete=True))
    d.on_turn(turn("Who is affected?", 22.0, [lab.BLAST_RADIUS]))
    assert "streak" not in d.fired


def test_monologue_interrupts_mid_turn_and_logs_the_interruption(small):
    d = make(small)
    assert d.on_tick(20.0, speaking_for_s=12.0) == []
    [a] = d.on_tick(40.0, speaking_for_s=32.0)
    assert a.complication_id == "long-talk" and a.interrupt
    [i] = kinds(d, "interruption")
    assert i.data == {"complication_id": "long-talk", "speaking_for_s": 32.0}


def test_only_interrupting_curveballs_fire_while_the_candidate_talks(small):
    d = make(small)
    d.on_turn(turn("Restart the API servers.", 20.0, kind="restart", concrete=True))
    assert d.on_tick(31.0, speaking_for_s=3.0) == []  # restart-followup is due but may not interrupt
    [a] = d.on_tick(32.0, speaking_for_s=0.0)
    assert a.complication_id == "restart-followup"


def test_delay_and_chain(small):
    d = make(small)
    d.on_turn(turn("Restart the API servers.", 20.0, kind="restart", concrete=True))
    assert d.on_tick(29.0) == []
    assert d.on_tick(30.0)[0].complication_id == "restart-followup"
    assert d.on_tick(45.0) == []  # the chain waits for the gap
    assert d.on_tick(50.0)[0].complication_id == "chain"


def test_no_incident_curveballs_in_the_postmortem_but_phase_ones_do(small):
    d = make(small)
    actions = d.on_turn(turn("Revert the config push.", 20.0, kind="config_revert", concrete=True))
    assert [a.intent for a in actions] == ["acknowledge", "postmortem_prompt", "complication"]
    assert actions[-1].complication_id == "pm-bait"
    for t in range(21, 200):
        d.on_tick(float(t))
    assert d.fired == ["pm-bait"]


def test_root_cause_not_confirmed_as_a_guess_in_triage(small):
    d = make(small)
    actions = d.on_turn(turn("I bet the config push broke the worker pool?", 10.0, [lab.HYPOTHESIS]))
    assert all(a.text != small.root_cause_reveal.line for a in actions)
    assert not d.root_cause_earned


def test_postmortem_earns_the_root_cause_asks_for_missing_elements_and_closes(small):
    d = make(small)
    d.on_turn(turn("Revert the config push.", 20.0, kind="config_revert", concrete=True))
    actions = d.on_turn(turn("Root cause: the config push emptied the worker pool.", 40.0, [lab.POSTMORTEM]))
    assert actions[0].text == small.root_cause_reveal.line and d.root_cause_earned
    assert actions[1].text == "What about the timeline, the impact and the follow-ups?"
    actions = d.on_turn(turn("Timeline from 3 pm, impact 100%, follow-up: validate pushes.", 60.0, [lab.POSTMORTEM]))
    assert actions[-1].intent == "closing" and d.phase == "end"


def test_postmortem_ends_after_max_turns(small):
    d = make(small)
    d.on_turn(turn("Revert the config push.", 20.0, kind="config_revert", concrete=True))
    d.on_turn(turn("Hmm.", 30.0))
    actions = d.on_turn(turn("Not sure.", 40.0))
    assert actions[-1].intent == "closing" and d.done


def test_time_limit_moves_to_the_postmortem_and_then_ends(small):
    d = make(small, postmortem_limit_s=60.0)
    actions = d.on_tick(5.0 + 600.0)
    assert actions[0].text == small.postmortem.timeout_prompt and d.phase == "postmortem"
    actions = d.on_tick(5.0 + 600.0 + 60.0)
    assert actions[-1].intent == "closing" and d.done
    assert d.on_tick(10_000.0) == [] and d.on_turn(turn("Hello?", 10_001.0)) == []


def test_clock_never_runs_back(small):
    d = make(small)
    d.on_tick(50.0)
    d.on_turn(turn("Which regions?", 30.0, [lab.BLAST_RADIUS]))
    assert kinds(d, "fact_revealed")[0].t_s == 50.0


def test_investigation_rewards_a_hypothesis():
    s = load_scenario("conversion-drop")
    d = Director(s, log=EventLog())
    d.start(0.0)
    actions = d.on_turn(turn("My hypothesis is that one browser broke. Which platforms dropped?", 20.0,
                             [lab.DIAGNOSTIC_QUESTION, lab.HYPOTHESIS]))
    assert d.phase == "diagnose"
    assert [a.intent for a in actions] == ["answer", "complication"]
    assert actions[1].complication_id == "make-it-testable"


def test_investigation_drill_down_facts_unlock_in_order():
    s = load_scenario("conversion-drop")
    d = Director(s, log=EventLog())
    d.start(0.0)
    [a] = d.on_turn(turn("How do the browsers compare?", 10.0, [lab.DIAGNOSTIC_QUESTION]))
    assert a.fact_ids == []  # by-browser waits for by-platform
    d.on_turn(turn("Break it down by platform?", 20.0, [lab.DIAGNOSTIC_QUESTION]))
    [a] = d.on_turn(turn("And by browser?", 30.0, [lab.DIAGNOSTIC_QUESTION]))[:1]
    assert a.fact_ids == ["by-browser"]


def test_investigation_earns_the_root_cause_and_writes_up():
    s = load_scenario("conversion-drop")
    d = Director(s, log=EventLog())
    d.start(0.0)
    actions = d.on_turn(turn("I think Safari is running a stale cached JavaScript bundle from the CDN.", 30.0,
                             [lab.HYPOTHESIS]))
    assert s.root_cause_reveal.line in [a.text for a in actions]
    assert d.phase == "postmortem"


def test_every_action_is_a_known_intent_with_text():
    for scenario_id in ("core-api-500s", "conversion-drop"):
        s = load_scenario(scenario_id)
        d = Director(s, log=EventLog())
        actions = d.start(0.0)
        for t in range(1, 1500, 7):
            actions += d.on_tick(float(t))
        assert all(a.intent in INTENTS and a.text.strip() for a in actions)
        assert d.done
