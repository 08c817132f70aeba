"""The optional LLM judge: lenient parsing, stored beside the rubric, never raising.

The real-server judge run is in test_llm_server.py."""

from __future__ import annotations

import json

import pytest

from fake_openai import FakeOpenAI
from voice_interviewer.judge import DIMENSIONS, judge_report, parse_judgement
from voice_interviewer.llm_config import LLMSettings

CANDIDATE = "Let's roll back auth v2.3.1 now. Then I'd check the auth database connections."


def report():
    return {
        "scenario": {"id": "core-api-500s", "title": "Core API returning 500s"},
        "rubric": {name: {"score": 1, "evidence": [], "to_raise": "x"} for name in DIMENSIONS},
        "utterances": [{"speaker": "candidate", "start": 30.0, "text": CANDIDATE}],
        "interviewer": [{"t_s": 0.0, "text": "The core API is returning 500 errors."}],
    }


FULL = {name: {"score": 3, "quote": "roll back auth v2.3.1", "why": "fine"} for name in DIMENSIONS}


@pytest.mark.parametrize("reply, scores", [
    (json.dumps(FULL), {name: 3 for name in DIMENSIONS}),
    ("Here you go:\n```json\n" + json.dumps(FULL) + "\n```\nHope that helps!", {name: 3 for name in DIMENSIONS}),
    ('{"bias_to_action": {"score": 4, "quote": "roll back",}, "signal_usage": {"score": "2/4"},}',
     {"bias_to_action": 4, "signal_usage": 2}),
    ("{'Bias to action': {'score': 1}, 'diagnostic-precision': 2}", {"bias_to_action": 1, "diagnostic_precision": 2}),
    ("bias_to_action: 3/4\nReversible mitigation - 4\nblameless postmortem: score 0", {"bias_to_action": 3, "reversible_mitigation": 4, "blameless_postmortem": 0}),
    ('{"bias_to_action": {"score": 2, "quote": "roll back auth', {"bias_to_action": 2}),  # cut off by max_tokens
    ('{"bias_to_action": {"score": 9}, "signal_usage": {"score": true}}', {}),
    ("I cannot score this.", {}),
])
def test_messy_replies_are_parsed_leniently(reply, scores):
    result = parse_judgement(reply, CANDIDATE)
    assert {k: v["score"] for k, v in result["scores"].items()} == scores
    assert set(result["missing"]) == set(DIMENSIONS) - set(scores)
    assert result["status"] == ("ok" if len(scores) == 5 else "partial" if scores else "failed")


def test_quotes_are_checked_against_what_the_candidate_said():
    reply = json.dumps({"bias_to_action": {"score": 3, "quote": "Roll back auth v2.3.1 now"},
                        "signal_usage": {"score": 2, "quote": "I looked at every dashboard"}})
    scores = parse_judgement(reply, CANDIDATE)["scores"]
    assert scores["bias_to_action"]["quote_found"] is True
    assert scores["signal_usage"]["quote_found"] is False


def test_judge_through_a_server_stores_beside_the_rubric():
    with FakeOpenAI() as server:
        server.reply = "```json\n" + json.dumps(FULL) + "\n```"
        r = report()
        rubric = json.dumps(r["rubric"], sort_keys=True)
        result = judge_report(r, LLMSettings(base_url=server.base_url, model="ok"))
        sent = server.requests[-1]["json"]
    assert r["llm_judge"] is result and result["status"] == "ok"
    assert json.dumps(r["rubric"], sort_keys=True) == rubric
    assert CANDIDATE in sent["messages"][1]["content"]
    assert result["model"] == "ok" and "api_key" not in result


@pytest.mark.parametrize("model", ["401", "500"])
def test_judge_failure_is_recorded_not_raised(model):
    with FakeOpenAI() as server:
        r = report()
        result = judge_report(r, LLMSettings(base_url=server.base_url, model=model, api_key="sk-judge-secret-99"))
    assert result["status"] == "failed" and result["reason"] == f"HTTP {model}"
    assert "sk-judge-secret-99" not in json.dumps(r)
    assert r["rubric"]["bias_to_action"]["score"] == 1


def test_judge_without_candidate_speech():
    r = report()
    r["utterances"] = []
    assert judge_report(r, LLMSettings(base_url="http://127.0.0.1:9/v1", model="m"))["reason"] == "no candidate speech to judge"


def test_replay_llm_judge_lands_beside_the_rubric_in_both_reports(tmp_path):
    """`replay --llm-judge` through the CLI: proposals in report.json and report.md, rubric untouched."""
    import subprocess
    import sys

    call = tmp_path / "call.vtt"
    call.write_text("WEBVTT\n\n00:00:05.000 --> 00:00:09.000\nLet's roll back auth v2.3.1 now.\n", encoding="utf-8")
    out = tmp_path / "out"
    with FakeOpenAI() as server:
        server.reply = json.dumps(FULL)
        run = subprocess.run(
            [sys.executable, "-m", "voice_interviewer", "replay", str(call), "--out", str(out), "--no-history",
             "--llm-judge", "--llm-base-url", server.base_url, "--llm-model", "ok"],
            capture_output=True, text=True, timeout=120,
        )
    assert run.returncode == 0, run.stderr
    saved = json.loads((out / "report.json").read_text())
    assert saved["llm_judge"]["status"] == "ok"
    assert saved["llm_judge"]["scores"]["bias_to_action"]["score"] == 3
    assert saved["rubric"]["bias_to_action"]["score"] in range(5)  # the deterministic score stays its own
    assert "LLM judge (proposed" in (out / "report.md").read_text()


def test_replay_llm_judge_without_an_endpoint_is_one_line(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    call = tmp_path / "call.vtt"
    call.write_text("WEBVTT\n\n00:00:05.000 --> 00:00:09.000\nLet's roll back auth v2.3.1 now.\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "voice_interviewer", "replay", str(call), "--llm-judge"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "needs an endpoint" in run.stderr and "Traceback" not in run.stderr


def test_report_html_shows_the_judge_beside_the_rubric(tmp_path):
    from report_samples import sample_report
    from voice_interviewer.report_html import write_html

    report = sample_report()
    report["llm_judge"] = {"status": "ok", "model": "smollm2",
                           "scores": {"bias_to_action": {"score": 2, "quote": "roll back", "quote_found": True, "why": "slow"}}}
    html = write_html(report, tmp_path).read_text(encoding="utf-8")
    assert 'id="llm-judge"' in html and "proposed, not used in the scores" in html and "slow" in html
    assert html.index('id="llm-judge"') > html.index('data-dimension="blameless_postmortem"')
