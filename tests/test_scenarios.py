"""The scenario library and `voice-interviewer scenarios [list|check FILE]`."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT
from voice_interviewer.scenario import CLOCK_TRIGGERS, builtin_dir, builtin_ids, load_scenario, parse_scenario

SCENARIO_FILES = sorted(builtin_dir().glob("*.yaml"))
SEED = REPO_ROOT / "scenarios" / "core-api-500s.yaml"


def scenarios_cli(*args):
    return subprocess.run([sys.executable, "-m", "voice_interviewer", "scenarios", *args],
                          capture_output=True, text=True, timeout=60)


def test_the_library_has_at_least_eight_scenarios_with_one_investigation():
    ids = builtin_ids()
    assert len(ids) >= 8
    assert "core-api-500s" in ids
    assert any(load_scenario(i).style == "investigation" for i in ids)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_every_scenario_passes_check(path):
    proc = scenarios_cli("check", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"OK {path}")


@pytest.mark.parametrize("scenario_id", builtin_ids())
def test_every_scenario_is_complete(scenario_id):
    s = load_scenario(scenario_id)
    assert s.id == scenario_id
    assert sum(bool(re.search(r"\d", f.answer)) for f in s.facts) >= len(s.facts) // 2, "facts need numbers"
    assert len(s.complications) >= 3
    assert len({c.trigger.type for c in s.complications}) >= 3, "vary the triggers"
    assert {m.outcome for m in s.mitigations} >= {"resolves", "fails"}
    assert all(m.response for m in s.mitigations)
    assert set(s.postmortem.elements) == {"timeline", "impact", "root_cause", "follow_ups"}
    assert s.vocabulary and s.root_cause and s.root_cause_reveal and s.root_cause_reveal.hidden_terms
    assert any(m.kind == "rollback" for m in s.mitigations), "simulated blind rollbacks need a response"
    paging = [c for c in s.complications if c.trigger.type == "topic" and c.trigger.topic == "paging"]
    assert paging, "every built-in answers a page"
    if s.style == "incident":
        assert any(c.trigger.type == "no_mitigation" for c in s.complications)
    else:
        assert not any(c.trigger.type in CLOCK_TRIGGERS for c in s.complications)
        assert any(c.trigger.type == "no_hypothesis" for c in s.complications)


@pytest.mark.parametrize("scenario_id", builtin_ids())
def test_some_curveballs_can_tie_so_the_seed_matters(scenario_id):
    s = load_scenario(scenario_id)
    triggers = [(c.priority, c.trigger.type, c.trigger.after_s, c.trigger.count) for c in s.complications]
    assert len(triggers) > len(set(triggers)), "two curveballs with the same priority and trigger"


def test_list_shows_id_title_severity_and_length():
    proc = scenarios_cli()
    assert proc.returncode == 0, proc.stderr
    for scenario_id in builtin_ids():
        s = load_scenario(scenario_id)
        line = next(l for l in proc.stdout.splitlines() if l.startswith(scenario_id + " "))
        assert s.title in line and s.severity in line and f"{len(s.facts)} facts" in line


def test_list_json():
    proc = scenarios_cli("list", "--json")
    rows = json.loads(proc.stdout)
    assert [r["id"] for r in rows] == builtin_ids()
    assert {"title", "severity", "style", "facts", "complications", "time_limit_min"} <= set(rows[0])


def test_the_example_in_the_docs_is_valid():
    doc = (REPO_ROOT / "docs" / "SCENARIOS.md").read_text(encoding="utf-8")
    block = doc.split("## A complete small example", 1)[1]
    text = "\n".join(line[4:] for line in block.splitlines() if line.startswith("    "))
    s = parse_scenario(text, "SCENARIOS.md")
    assert s.id == "disk-full" and len(s.complications) == 3


# ------------------------------------------------------------ malformed files


def _seed():
    return yaml.safe_load(SEED.read_text(encoding="utf-8"))


def _mutate(fn):
    raw = copy.deepcopy(_seed())
    fn(raw)
    return yaml.safe_dump(raw, sort_keys=False)


def _set(path, value):
    def apply(raw):
        *parents, last = path
        target = raw
        for key in parents:
            target = target[key]
        target[last] = value
    return apply


MALFORMED = {
    "missing-field": (_mutate(lambda r: r.pop("title")), "title", "is required"),
    "wrong-type": (_mutate(_set(["complications", 0, "priority"], "high")), "complications[0].priority", "must be an integer"),
    "unknown-trigger": (_mutate(_set(["complications", 1, "trigger"], {"type": "sometimes"})),
                        "complications[1].trigger.type", "unknown trigger 'sometimes'"),
    "fact-after-missing-event": (_mutate(_set(["facts", 7, "after"], "complication:no-such-thing")),
                                 "facts[7].after", "does not exist"),
    "not-a-mapping": ("- just\n- a list\n", "(top level)", "must be a mapping"),
    "not-yaml": ("id: [unclosed\n", "line", "not valid YAML"),
    "unknown-field": (_mutate(_set(["facts", 0, "answr"], "typo")), "facts[0].answr", "unknown field"),
    "bad-outcome": (_mutate(_set(["mitigations", 0, "outcome"], "maybe")), "mitigations[0].outcome", "must be one of"),
    "trigger-topic-undefined": (_mutate(_set(["complications", 1, "trigger"], {"type": "topic", "topic": "weather"})),
                                "complications[1].trigger.topic", "do not define"),
    "hidden-term-leak": (_mutate(_set(["facts", 0, "answer"], "Each login opens a new database connection per request.")),
                         "facts[0].answer", "gives away the hidden root cause"),
    "chain-loop": (_mutate(lambda r: (_set(["complications", 0, "trigger"], {"type": "after_complication",
                                                                            "complication": "errors-climb"})(r))),
                   "trigger.complication", "loops back"),
    "clock-in-investigation": (_mutate(_set(["style"], "investigation")), "trigger.type", "an investigation has no clock"),
    "unquoted-number": ("schema_version: 1\nid: x\ntitle: t\nseverity: s\nbriefing: b\nroot_cause: r\nvocabulary: [8.1]\n"
                        "facts: []\nmitigations: []\ncomplications: []\npostmortem: {prompt: p, elements: {}}\n",
                        "vocabulary[0]", "put it in quotes"),
    "wrong-version": (_mutate(_set(["schema_version"], 2)), "schema_version", "reads 1"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_file_names_file_and_field_and_exits_2(tmp_path, case):
    text, field, problem = MALFORMED[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    proc = scenarios_cli("check", str(path))
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert str(path) in message and field in message and problem in message, message


def test_check_json_reports_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(MALFORMED["wrong-type"][0], encoding="utf-8")
    proc = scenarios_cli("check", str(path), "--json")
    assert proc.returncode == 2
    out = json.loads(proc.stdout)
    assert out == {"ok": False, "file": str(path), "field": "complications[0].priority",
                   "problem": "must be an integer, got a string"}


@pytest.mark.parametrize("args,problem", [
    (["check"], "needs a FILE"),
    (["check", "/nonexistent/dir/s.yaml"], "not found"),
])
def test_check_usage_errors_exit_2(args, problem):
    proc = scenarios_cli(*args)
    assert proc.returncode == 2 and problem in proc.stderr


def test_a_user_file_works_as_scenario_for_simulate(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(SEED.read_text(encoding="utf-8").replace("id: core-api-500s", "id: mine"), encoding="utf-8")
    turns = tmp_path / "turns.txt"
    turns.write_text("Which endpoints are failing?\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "voice_interviewer", "simulate", "--scenario", str(path),
                           "--candidate", str(turns), "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["scenario"]["id"] == "mine"


def test_unknown_scenario_id_is_one_line():
    proc = subprocess.run([sys.executable, "-m", "voice_interviewer", "simulate", "--scenario", "nope",
                           "--candidate", str(Path(__file__))], capture_output=True, text=True, timeout=60)
    # A usage error, exit 2, like an invalid scenario file (was 1 before the new-user trial).
    assert proc.returncode == 2 and "unknown scenario 'nope'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
