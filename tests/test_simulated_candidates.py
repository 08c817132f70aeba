"""Every simulated candidate against every scenario: what a good interviewer does.

The candidates (tests/simulated_candidates.py) are built from each scenario's
own facts, mitigations and topics, and labelled by the real analyser; the
director, the scenario files and simulate.run_turns are all the real thing.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys

import pytest

from simulated_candidates import CANDIDATES, never_mitigates, paging_line, slow_diagnoser
from voice_interviewer import director as dr
from voice_interviewer.analysis import mentions
from voice_interviewer.scenario import builtin_ids, load_scenario
from voice_interviewer.simulate import run_turns

SCENARIO_IDS = builtin_ids()
SEEDS = range(12)


@functools.lru_cache(maxsize=None)
def scenario(scenario_id):
    return load_scenario(scenario_id)


@functools.lru_cache(maxsize=None)
def run(scenario_id, candidate, seed=0):
    s = scenario(scenario_id)
    return run_turns(s, CANDIDATES[candidate](s), seed=seed)


def events(result, kind):
    return [e for e in result["events"] if e["kind"] == kind]


def interviewer_lines(result):
    return [d for d in result["dialogue"] if d["speaker"] == "interviewer"]


def candidate_lines(result):
    return [d for d in result["dialogue"] if d["speaker"] == "candidate"]


def fired_by_trigger(result, s, trigger_type):
    return [cid for cid in result["complications"] if s.complication(cid).trigger.type == trigger_type]


ALL = [(sid, name) for sid in SCENARIO_IDS for name in CANDIDATES]


@pytest.mark.parametrize("scenario_id,candidate", ALL)
def test_facts_only_when_asked(scenario_id, candidate):
    s, result = scenario(scenario_id), run(scenario_id, candidate)
    turns = {round(d["end_s"], 3): d["text"] for d in candidate_lines(result)}
    for e in events(result, "fact_revealed"):
        if e["fact_id"] == "root_cause":
            continue
        asked = turns.get(round(e["t_s"], 3))
        assert asked is not None, f"fact {e['fact_id']} revealed at {e['t_s']} with no candidate turn ending then"
        assert mentions(asked, s.fact(e["fact_id"]).topics), f"{e['fact_id']} revealed for {asked!r}"


@pytest.mark.parametrize("scenario_id,candidate", ALL)
def test_no_curveball_twice(scenario_id, candidate):
    result = run(scenario_id, candidate)
    fired = [e["complication_id"] for e in events(result, "complication")]
    assert len(fired) == len(set(fired)), fired
    assert fired == result["complications"]


@pytest.mark.parametrize("scenario_id,candidate", ALL)
def test_root_cause_never_leaked(scenario_id, candidate):
    s, result = scenario(scenario_id), run(scenario_id, candidate)
    reveal = s.root_cause_reveal
    earned_at = [e["t_s"] for e in events(result, "fact_revealed") if e["fact_id"] == "root_cause"]
    root_sentences = [p.strip().lower() for p in re.split(r"[.;]", s.root_cause) if len(p.split()) >= 4]
    for line in interviewer_lines(result):
        text = line["text"].lower()
        assert not any(p in text for p in root_sentences), line["text"]
        if line["text"] == reveal.line:
            assert earned_at and line["t_s"] >= earned_at[0]
            continue
        for term in reveal.hidden_terms:
            assert term.lower() not in text, f"hidden term {term!r} in {line['text']!r}"


@pytest.mark.parametrize("scenario_id,candidate", ALL)
def test_every_line_comes_from_the_scenario(scenario_id, candidate):
    """Never a made-up fact or number: each line is a scenario line, facts joined, or a neutral default."""
    s, result = scenario(scenario_id), run(scenario_id, candidate)
    allowed = {text for _, text in s.public_lines()} | {s.briefing_text, s.root_cause_reveal.line, dr.DEFAULT_REPEAT}
    allowed |= set(dr.DEFAULT_ACKNOWLEDGEMENTS) | set(dr.DEFAULT_PUSHBACK)
    for line in interviewer_lines(result):
        if line["intent"] == "answer" and line["fact_ids"] and line["fact_ids"] != ["root_cause"]:
            assert line["text"] == " ".join(s.fact(f).answer for f in line["fact_ids"])
        elif line["intent"] == "postmortem_prompt" and line["text"].startswith("What about "):
            assert not re.search(r"\d", line["text"])
        else:
            assert line["text"] in allowed, line["text"]


@pytest.mark.parametrize("scenario_id,candidate", ALL)
def test_reaches_postmortem_or_a_clean_end(scenario_id, candidate):
    result = run(scenario_id, candidate)
    phases = [e["phase"] for e in events(result, "phase_changed")]
    assert "postmortem" in phases, phases
    assert result["phase"] in ("postmortem", "end")
    assert [dr.PHASE_ORDER[p] for p in phases] == sorted(dr.PHASE_ORDER[p] for p in phases)


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_fast_mitigator_beats_the_mark_and_meets_no_clock_curveball(scenario_id):
    s, result = scenario(scenario_id), run(scenario_id, "fast_mitigator")
    assert result["two_minute_verdict"] == "in_time"
    assert result["mitigation"]["outcome"] == "resolves"
    assert not fired_by_trigger(result, s, "no_mitigation")
    assert not fired_by_trigger(result, s, "diagnostic_streak")
    assert result["phase"] == "end"  # the postmortem line covers every element


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_slow_diagnoser_gets_pressure(scenario_id):
    s, result = scenario(scenario_id), run(scenario_id, "slow_diagnoser")
    pressure = {"investigation": ("no_hypothesis",), "incident": ("no_mitigation", "diagnostic_streak")}[s.style]
    assert any(s.complication(c).trigger.type in pressure for c in result["complications"]), result["complications"]
    assert result["two_minute_verdict"] == "late"


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_blamer_is_pushed_back_on_in_triage_and_postmortem(scenario_id):
    result = run(scenario_id, "blamer")
    blame = [e for e in events(result, "pushback") if e["reason"] == "blame"]
    assert len(blame) >= 2
    first_turn_end = candidate_lines(result)[0]["end_s"]
    assert not [e for e in events(result, "fact_revealed") if e["t_s"] == first_turn_end]


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_pages_the_expert_gets_the_paging_curveball(scenario_id):
    s, result = scenario(scenario_id), run(scenario_id, "pages_the_expert")
    paging = [c.id for c in s.complications if c.trigger.type == "topic" and c.trigger.topic == "paging"]
    if not paging:
        pytest.skip(f"{scenario_id} has no paging curveball")
    page_turn = next(d for d in candidate_lines(result) if d["text"] == paging_line(s))
    fired = {e["complication_id"]: e["t_s"] for e in events(result, "complication")}
    assert paging[0] in fired
    assert fired[paging[0]] == page_turn["end_s"]  # straight after the turn that paged


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_rolls_back_blindly_gets_the_rollback_curveball(scenario_id):
    s, result = scenario(scenario_id), run(scenario_id, "rolls_back_blindly")
    rollback_cbs = [c for c in s.complications if c.trigger.type == "mitigation" and c.trigger.kind == "rollback"]
    assert rollback_cbs, f"{scenario_id} has no rollback curveball"
    first = events(result, "mitigation")[0]
    assert first["mitigation_kind"] == "rollback"
    fired = {e["complication_id"]: e["t_s"] for e in events(result, "complication")}
    c = rollback_cbs[0]
    assert c.id in fired
    assert first["t_s"] + c.trigger.delay_s <= fired[c.id] <= first["t_s"] + c.trigger.delay_s + 1.0


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_never_mitigates_gets_the_timer_curveball_and_a_timeout_postmortem(scenario_id):
    s, result = scenario(scenario_id), run(scenario_id, "never_mitigates")
    timer = {"incident": "no_mitigation", "investigation": "no_hypothesis"}[s.style]
    assert fired_by_trigger(result, s, timer)
    assert not events(result, "mitigation")
    assert any(d["text"] == s.postmortem.timeout_prompt for d in interviewer_lines(result))


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_different_seeds_give_different_curveball_orders(scenario_id):
    s = scenario(scenario_id)
    orders = {tuple(run_turns(s, never_mitigates(s), seed=seed)["complications"]) for seed in SEEDS}
    assert len(orders) > 1, orders


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_same_seed_reproduces_the_run(scenario_id):
    s = scenario(scenario_id)
    a = run_turns(s, slow_diagnoser(s), seed=7)
    b = run_turns(s, slow_diagnoser(s), seed=7)
    assert a["events"] == b["events"] and a["dialogue"] == b["dialogue"]


# ------------------------------------------------------------ the simulate command


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "voice_interviewer", *args], capture_output=True, text=True,
                          input=stdin, timeout=120)


def test_simulate_command_json(tmp_path):
    turns = tmp_path / "turns.txt"
    turns.write_text("# a fast mitigator\n00:05 Which endpoints are failing?\n"
                     "00:20 Turn off the auth-token-cache feature flag now.\n", encoding="utf-8")
    proc = _cli("simulate", "--scenario", "core-api-500s", "--candidate", str(turns), "--seed", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    kinds = [e["kind"] for e in out["events"]]
    assert {"briefing_ended", "fact_revealed", "mitigation", "phase_changed"} <= set(kinds)
    assert out["mitigation"]["mitigation_id"] == "flag-off-token-cache"
    assert out["mitigation"]["latency_s"] == pytest.approx(20.0, abs=0.01)
    assert out["seed"] == 3 and out["phase"] == "postmortem"


def test_simulate_command_prints_the_dialogue_and_events(tmp_path):
    turns = tmp_path / "turns.txt"
    turns.write_text("Let's roll back the auth service to v2.3.0 now.\nIs it any better now?\n", encoding="utf-8")
    proc = _cli("simulate", "--scenario", "core-api-500s", "--candidate", str(turns))
    assert proc.returncode == 0, proc.stderr
    assert "curveball rollback-no-help" in proc.stdout
    assert "first concrete mitigation" in proc.stdout
    assert "phase triage -> diagnose" in proc.stdout
    assert "interviewer: The rollback finished four minutes ago" in proc.stdout


@pytest.mark.parametrize("content,problem", [
    ("", "no candidate turns"),
    ("01:00 first\n00:30 earlier\n", "earlier than the turn before"),
])
def test_simulate_bad_turns_file_is_one_line(tmp_path, content, problem):
    turns = tmp_path / "turns.txt"
    turns.write_text(content, encoding="utf-8")
    proc = _cli("simulate", "--candidate", str(turns))
    assert proc.returncode == 1
    assert problem in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_simulate_missing_turns_file(tmp_path):
    proc = _cli("simulate", "--candidate", str(tmp_path / "nope.txt"))
    assert proc.returncode == 1 and "not found" in proc.stderr and "Traceback" not in proc.stderr


# ------------------------------------------------------------ practice --text


def test_typed_rehearsal_writes_a_session_folder(tmp_path):
    import argparse
    import io
    import stat

    from voice_interviewer.events import read_events
    from voice_interviewer.simulate import practice_text

    args = argparse.Namespace(scenario="core-api-500s", seed=5, mode="coached", sessions_dir=str(tmp_path),
                              max_minutes=5.0, voice="scripted", text=True)
    typed = io.StringIO("Which endpoints are failing?\n\nTurn off the auth-token-cache feature flag now.\n"
                        "Timeline 1:40, impact 12%, root cause the token cache exhausting the connection pool, "
                        "follow-up: load test.\n")
    out = io.StringIO()
    assert practice_text(args, stdin=typed, out=out) == 0

    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 5 and meta["input"] == "text" and meta["scenario"] == "core-api-500s"
    assert meta["t0_s"] >= 0  # typed: the clock starts when the briefing is on screen, ms after start
    assert meta["ended_in_phase"] == "end"
    kinds = [e.kind for e in read_events(folder / "events.jsonl")]
    assert kinds[0] == "session_started" and kinds[-1] == "session_ended"
    assert kinds.count("transcript_final") == 3
    assert {"briefing_ended", "fact_revealed", "mitigation", "phase_changed"} <= set(kinds)
    printed = out.getvalue()
    assert "interviewer: The 500s are on endpoints" in printed and "session saved in" in printed
    assert "That matches what the team found" in printed  # earned in the postmortem


def test_typed_rehearsal_quits_on_quit(tmp_path):
    import argparse
    import io

    from voice_interviewer.simulate import practice_text

    args = argparse.Namespace(scenario="edge-tls-expired", seed=None, mode="exam", sessions_dir=str(tmp_path),
                              max_minutes=5.0, voice="scripted", text=True)
    out = io.StringIO()
    assert practice_text(args, stdin=io.StringIO("What changed?\nquit\nRoll back now.\n"), out=out) == 0
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert isinstance(meta["seed"], int) and meta["ended_in_phase"] == "triage"


# ------------------------------------------------------------ --voice openai, wired through voice.make_voice


@pytest.mark.parametrize("model,reply,expect_fallback", [
    ("500", "", True),  # the endpoint fails: every line is the scripted one, each fallback logged
    ("ok", "Tell me what you would do next.", True),  # a line without the required facts is rejected
])
def test_simulate_openai_voice_falls_back_to_the_scripted_line(tmp_path, monkeypatch, capsys, model, reply,
                                                                 expect_fallback):
    import argparse

    from fake_openai import FakeOpenAI
    from voice_interviewer import simulate

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    turns = tmp_path / "turns.txt"
    turns.write_text("00:05 Which endpoints are failing?\n", encoding="utf-8")
    with FakeOpenAI() as server:
        server.reply = reply
        args = argparse.Namespace(scenario="core-api-500s", candidate=str(turns), seed=0, json=True, voice="openai",
                                  llm_model=model, llm_base_url=server.base_url, config=None)
        assert simulate.main(args) == 0
        assert server.requests, "the voice asked the endpoint"
    out = json.loads(capsys.readouterr().out)
    answer = next(d for d in out["dialogue"] if d.get("intent") == "answer")
    s = load_scenario("core-api-500s")
    assert answer["text"] == s.fact("blast-radius").answer
    assert any(e["kind"] == "voice_fallback" for e in out["events"]) == expect_fallback


@pytest.mark.parametrize("scenario_id", [i for i in SCENARIO_IDS if load_scenario(i).style == "investigation"])
def test_investigation_rewards_hypothesis_driven_questioning(scenario_id):
    from simulated_candidates import hypothesis_driven

    s = scenario(scenario_id)
    result = run_turns(s, hypothesis_driven(s), seed=0)
    assert not fired_by_trigger(result, s, "no_hypothesis")
    assert "phase" in {s.complication(c).trigger.type for c in result["complications"]}  # "how would you test it?"
    assert result["root_cause_earned"] and result["phase"] == "end"
    assert not events(result, "mitigation")
    unfocused = run(scenario_id, "slow_diagnoser")
    assert fired_by_trigger(unfocused, s, "no_hypothesis") and not unfocused["root_cause_earned"]
