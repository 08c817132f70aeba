"""report.json in the documented shape, report.md readable, files private."""

from __future__ import annotations

import json
import os
import stat

import pytest

from voice_interviewer import events as ev
from voice_interviewer.actions import Action
from voice_interviewer.analysis import label_utterances
from voice_interviewer.errors import UserError
from voice_interviewer.report import build_report, markdown, summary_text, write_reports
from voice_interviewer.scenario import load_scenario
from voice_interviewer.utterances import INTERVIEWER

from utterance_helpers import FAST_REVERSIBLE, SLOW_BLAMER, session, utt

TOP_KEYS = {"format_version", "source", "scenario", "seed", "t0_s", "duration_s", "mark_s", "mitigation",
            "two_minute_verdict", "clocks", "rubric", "utterances", "interviewer", "events", "delivery", "meta"}


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("core-api-500s")


def report_for(lines, scenario, t0_s=0.0, **kwargs):
    utts = session(lines)
    label_utterances(utts, scenario)
    duration_s = max(u.end_s for u in utts) + 2.0
    return build_report(utts, kwargs.pop("events", []), scenario, t0_s,
                        {"path": "/tmp/x.wav", "kind": "audio", "name": "x"}, duration_s, **kwargs)


def test_report_has_the_documented_shape(scenario):
    events = [ev.Event(0.0, ev.SESSION_STARTED, {"source": "audio"})]
    interviewer = [Action(intent="answer", text="Both regions are affected.", t_s=5.0, fact_ids=["blast-radius"])]
    report = report_for(FAST_REVERSIBLE, scenario, events=events, interviewer=interviewer, seed=3,
                        meta={"models": {"whisper": "tiny.en"}, "timings_s": {"stt": 1.0}})
    assert set(report) == TOP_KEYS
    assert report["format_version"] == 1 and report["seed"] == 3 and report["mark_s"] == 120.0
    assert report["scenario"] == {"id": "core-api-500s", "title": scenario.title}
    assert set(report["mitigation"]) == {"latency_s", "onset_s", "whisper_onset_s", "quote", "kind"}
    assert set(report["clocks"]) == {"blast_radius", "change_check", "communication"}
    for entry in report["rubric"].values():
        assert set(entry) == {"score", "evidence", "to_raise"}
    assert report["interviewer"][0]["intent"] == "answer"
    assert report["events"][0] == {"t_s": 0.0, "kind": "session_started", "source": "audio"}
    assert report["meta"]["models"] == {"whisper": "tiny.en"} and report["meta"]["voice_interviewer"]
    assert "words_per_minute" in report["delivery"]
    first = report["utterances"][0]
    assert {"start", "end", "text", "labels", "concrete_mitigation"} <= set(first)
    json.dumps(report)  # serialisable as is


def test_mitigation_latency_is_first_word_onset_minus_t0(scenario):
    lines = [(3.0, "which regions are affected?"), (40.0, "Let's roll back the auth deploy now.")]
    utts = session(lines)
    utts[1].words[0].start_s = 40.4  # onset.py moved the first word; Whisper had said 40.0
    utts[1].whisper_onset_s = 40.0
    label_utterances(utts, scenario)
    report = build_report(utts, [], scenario, 10.0, "/tmp/rehearsal.wav", 60.0)
    m = report["mitigation"]
    assert m["onset_s"] == 40.4 and m["latency_s"] == pytest.approx(30.4)
    assert m["whisper_onset_s"] == 40.0
    assert m["kind"] == "rollback" and m["quote"].startswith("Let's roll back")
    assert report["two_minute_verdict"] == "in_time"
    assert report["clocks"]["blast_radius"] is None  # asked before t0
    assert report["source"] == {"path": "/tmp/rehearsal.wav", "kind": "audio", "name": "rehearsal"}


@pytest.mark.parametrize("lines, verdict", [
    ([(20.0, "Turn off the token cache flag now.")], "in_time"),
    ([(130.0, "Turn off the token cache flag now.")], "late"),
    ([(20.0, "should we maybe roll back?"), (50.0, "I'm not rolling back yet.")], "none"),
])
def test_two_minute_verdict(scenario, lines, verdict):
    report = report_for(lines, scenario)
    assert report["two_minute_verdict"] == verdict
    if verdict == "none":
        assert report["mitigation"] == {"latency_s": None, "onset_s": None, "whisper_onset_s": None, "quote": None, "kind": None}


def test_clocks(scenario):
    report = report_for(FAST_REVERSIBLE, scenario)
    assert report["clocks"]["blast_radius"]["onset_s"] == 2.0
    assert report["clocks"]["change_check"]["onset_s"] == 9.0
    assert report["clocks"]["communication"]["latency_s"] == 50.0
    assert "status update" in report["clocks"]["communication"]["quote"]


def test_interviewer_utterances_are_kept_but_not_scored(scenario):
    utts = [utt(1.0, "Should we roll back the auth service? Let's roll back auth now.", INTERVIEWER),
            utt(10.0, "which endpoints are failing?")]
    report = build_report(utts, [], scenario, 0.0, "/tmp/a.wav", 20.0)
    assert report["mitigation"]["latency_s"] is None
    assert [u["speaker"] for u in report["utterances"]] == ["interviewer", "candidate"]


def test_write_reports_writes_private_json_and_markdown(scenario, tmp_path):
    report = report_for(FAST_REVERSIBLE, scenario)
    out = tmp_path / "reports" / "x"
    written = write_reports(report, out)
    names = {p.name for p in written}
    assert {"report.json", "report.md"} <= names
    for p in written:
        if p.name in ("report.json", "report.md"):
            assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert json.loads((out / "report.json").read_text()) == json.loads(json.dumps(report))
    md = (out / "report.md").read_text()
    assert "Two-minute verdict: **in time**" in md
    assert "| Bias to action | 4/4 |" in md
    assert "00:31 \"I'm turning off the auth-token-cache flag now." in md  # evidence with mm:ss
    assert "## Transcript" in md and "concrete_mitigation (flag_off)" in md
    # An existing file with loose permissions is tightened on rewrite.
    os.chmod(out / "report.md", 0o644)
    write_reports(report, out)
    assert stat.S_IMODE(os.stat(out / "report.md").st_mode) == 0o600


def test_write_reports_unwritable_folder_is_one_clear_error(scenario, tmp_path):
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        target = blocker / "out"  # a path under a regular file cannot be created, even by root
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "out"
    with pytest.raises(UserError) as excinfo:
        write_reports(report_for(FAST_REVERSIBLE, scenario), target)
    assert "\n" not in str(excinfo.value)


def test_markdown_for_a_session_without_mitigation(scenario):
    md = markdown(report_for(SLOW_BLAMER[:4], scenario))
    assert "No concrete mitigation" in md
    assert "| first concrete mitigation | never |" in md


def test_summary_text(scenario):
    fast = summary_text(report_for(FAST_REVERSIBLE, scenario))
    assert "31.0 s after t0" in fast and "in time" in fast and "[flag_off]" in fast
    assert "Rubric 20/20" in fast
    slow = summary_text(report_for(SLOW_BLAMER, scenario))
    assert "late" in slow and "restart" in slow
    none = summary_text(report_for(SLOW_BLAMER[:4], scenario))
    assert "none" in none and "never" in none
