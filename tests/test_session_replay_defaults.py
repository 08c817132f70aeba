"""`replay` of a session folder scores it on the session's own scenario and seed;
`practice --text` ends with replay's summary, a history row, and a clean Ctrl-C;
report folders of same-named inputs do not overwrite each other."""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from voice_interviewer import history
from voice_interviewer.errors import UserError
from voice_interviewer.replay import replay_path
from voice_interviewer.simulate import practice_text

STAMPEDE_TURNS = ("Which pages are affected, and in which regions?\n"
                  "Turn off the live-inventory feature flag now.\n"
                  "quit\n")


def _cli(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voice_interviewer", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, cwd=cwd, env=dict(os.environ))


def _typed_args(sessions: Path, **overrides) -> argparse.Namespace:
    values = dict(scenario="cache-stampede", seed=5, mode="exam", sessions_dir=str(sessions), max_minutes=5.0,
                  voice="scripted", text=True, llm_model=None, llm_base_url=None, config=None)
    values.update(overrides)
    return argparse.Namespace(**values)


def _typed_session(sessions: Path, turns: str = STAMPEDE_TURNS, **overrides) -> tuple[Path, str]:
    out = io.StringIO()
    assert practice_text(_typed_args(sessions, **overrides), stdin=io.StringIO(turns), out=out) == 0
    (folder,) = [p for p in sessions.iterdir() if p.is_dir()]
    return folder, out.getvalue()


def _key_fields(report: dict) -> tuple:
    m = report["mitigation"]
    return (report["scenario"]["id"], report["seed"], m["kind"], m["quote"], m["onset_s"], m["latency_s"],
            report["two_minute_verdict"])


# ------------------------------------------------------------ 1. the session's own scenario and seed


def test_a_typed_session_replays_on_its_own_scenario_and_seed(tmp_path):
    sessions = tmp_path / "sessions"
    typed = _cli("practice", "--text", "--scenario", "cache-stampede", "--seed", "5", "--sessions-dir", str(sessions),
                 stdin=STAMPEDE_TURNS)
    assert typed.returncode == 0, typed.stderr
    (folder,) = sessions.iterdir()
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert (meta["scenario"], meta["scenario_source"], meta["seed"]) == ("cache-stampede", "cache-stampede", 5)
    live = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert _key_fields(live)[:3] == ("cache-stampede", 5, "flag_off")

    replayed = _cli("replay", str(folder), "--no-history")  # no --scenario, no --seed
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.splitlines()[0].startswith("cache-stampede · ")
    again = json.loads((folder / "report.json").read_text(encoding="utf-8"))  # the report it rewrote
    assert _key_fields(again) == _key_fields(live)

    # Given explicitly, both still win.
    other = _cli("replay", str(folder), "--scenario", "core-api-500s", "--seed", "7", "--json", "--no-history")
    assert other.returncode == 0, other.stderr
    overridden = json.loads(other.stdout)
    assert (overridden["scenario"]["id"], overridden["seed"]) == ("core-api-500s", 7)


def test_a_session_on_a_scenario_file_replays_from_another_directory_until_the_file_is_gone(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    text = (REPO_ROOT / "scenarios" / "cache-stampede.yaml").read_text(encoding="utf-8")
    assert "id: cache-stampede" in text
    (work / "my-stampede.yaml").write_text(text.replace("id: cache-stampede", "id: my-stampede", 1), encoding="utf-8")
    sessions = tmp_path / "sessions"
    typed = _cli("practice", "--text", "--scenario", "my-stampede.yaml", "--seed", "3", "--sessions-dir", str(sessions),
                 cwd=work, stdin=STAMPEDE_TURNS)
    assert typed.returncode == 0, typed.stderr
    (folder,) = sessions.iterdir()
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["scenario"] == "my-stampede"
    assert meta["scenario_source"] == str((work / "my-stampede.yaml").resolve())

    elsewhere = _cli("replay", str(folder), "--json", "--no-history", cwd=tmp_path)
    assert elsewhere.returncode == 0, elsewhere.stderr
    report = json.loads(elsewhere.stdout)
    assert (report["scenario"]["id"], report["seed"], report["mitigation"]["kind"]) == ("my-stampede", 3, "flag_off")

    (work / "my-stampede.yaml").unlink()
    gone = _cli("replay", str(folder), "--no-history", cwd=tmp_path)
    assert gone.returncode == 2  # a scenario that cannot be found, as for --scenario nope
    lines = gone.stderr.strip().splitlines()
    assert len(lines) == 1 and "no longer exists" in lines[0] and "--scenario" in lines[0], gone.stderr
    fixed = _cli("replay", str(folder), "--scenario", "cache-stampede", "--json", "--no-history", cwd=tmp_path)
    assert fixed.returncode == 0 and json.loads(fixed.stdout)["scenario"]["id"] == "cache-stampede"


def test_an_unknown_recorded_scenario_id_asks_for_scenario(tmp_path):
    folder, _ = _typed_session(tmp_path / "s")
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    meta.update(scenario="retired-scenario", scenario_source="retired-scenario")
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(UserError, match=r"'retired-scenario', which no longer exists; .*--scenario"):
        replay_path(folder, write=False, history=False)


# ------------------------------------------------------------ 3. typed sessions without a usable meta.json


@pytest.mark.parametrize("damage", ["missing", "not json", "not an object"])
def test_a_typed_session_without_a_usable_meta_json_is_still_read_from_its_events(tmp_path, damage):
    folder, _ = _typed_session(tmp_path / "s")
    live = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    meta = folder / "meta.json"
    if damage == "missing":
        meta.unlink()
    else:
        meta.write_text("{truncated" if damage == "not json" else "[1, 2]", encoding="utf-8")

    report = replay_path(folder, write=False, history=False)

    # Scenario and seed come from the events (session_started, briefing_ended) too.
    assert _key_fields(report) == _key_fields(live)
    assert [u["text"] for u in report["utterances"] if u["speaker"] == "candidate"] == \
           [u["text"] for u in live["utterances"] if u["speaker"] == "candidate"]


# ------------------------------------------------------------ 2. practice --text: summary, history, Ctrl-C


def test_typed_practice_prints_replays_summary_and_records_the_attempt(tmp_path):
    folder, printed = _typed_session(tmp_path / "s", mode="exam")
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    from voice_interviewer.report import summary_text

    assert summary_text(report) in printed
    assert printed.rstrip().splitlines()[-1].startswith(f"session saved in {folder}")
    rows = history.attempts()
    assert [(r["scenario_id"], r["seed"], r["session_path"]) for r in rows] == \
           [("cache-stampede", 5, str(folder.resolve()))]
    assert rows[0]["mitigation_latency_s"] == pytest.approx(report["mitigation"]["latency_s"], abs=1e-3)


def test_two_typed_attempts_are_two_history_rows(tmp_path):
    # Their candidate.wav files are identical empty headers; the attempt is its events.
    _typed_session(tmp_path / "a")
    _typed_session(tmp_path / "b", turns="What changed?\nRate limit the product page traffic to half now.\nquit\n")
    rows = history.attempts()
    assert len(rows) == 2 and len({r["session_path"] for r in rows}) == 2


def test_a_typed_practice_with_no_turns_records_nothing(tmp_path, private_data_home):
    folder, printed = _typed_session(tmp_path / "s", turns="quit\n")
    assert "First concrete mitigation: none" in printed and "session saved in" in printed
    assert not history.default_db_path().exists()


class _InterruptedStdin:
    """Typed turns, then Ctrl-C while waiting for the next one (readline raises, as input() would)."""

    def __init__(self, lines: list[str]):
        self.lines = list(lines)

    def readline(self) -> str:
        if self.lines:
            return self.lines.pop(0)
        raise KeyboardInterrupt


def test_ctrl_c_in_typed_practice_scores_what_was_typed_and_exits_130(tmp_path):
    sessions = tmp_path / "s"
    out = io.StringIO()
    stdin = _InterruptedStdin(["Which pages are affected?\n", "Turn off the live-inventory feature flag now.\n"])
    assert practice_text(_typed_args(sessions), stdin=stdin, out=out) == 130

    (folder,) = sessions.iterdir()
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["mitigation"]["kind"] == "flag_off"
    assert report["events"][-1]["kind"] == "session_ended" and report["events"][-1]["reason"] == "interrupted"
    assert json.loads((folder / "meta.json").read_text(encoding="utf-8"))["end_reason"] == "interrupted"
    printed = out.getvalue()
    assert "First concrete mitigation:" in printed and f"session saved in {folder}" in printed
    assert len(history.attempts()) == 1


def test_sigint_during_typed_practice_ends_cleanly(tmp_path):
    sessions = tmp_path / "s"
    child = subprocess.Popen([sys.executable, "-m", "voice_interviewer", "practice", "--text", "--scenario",
                              "cache-stampede", "--seed", "5", "--sessions-dir", str(sessions)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        child.stdin.write("Turn off the live-inventory feature flag now.\n")
        child.stdin.flush()
        events = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the turn is in the log: the prompt is waiting again
            found = list(sessions.glob("*/events.jsonl"))
            if found and '"mitigation"' in found[0].read_text(encoding="utf-8"):
                events = found[0]
                break
            time.sleep(0.1)
        assert events is not None, "the typed turn never reached the event log"
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr
    folder = events.parent
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["mitigation"]["kind"] == "flag_off" and report["events"][-1]["reason"] == "interrupted"
    assert "First concrete mitigation:" in stdout and f"session saved in {folder}" in stdout


# ------------------------------------------------------------ 4. the LLM's settings in meta.json


def test_typed_practice_with_the_openai_voice_records_the_llm_but_never_the_key(tmp_path, monkeypatch):
    from fake_openai import FakeOpenAI

    secret = "sk-test-do-not-write-4d1c"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    with FakeOpenAI() as server:
        server.reply = "Product and search pages time out, about 40% of them; checkout is fine."
        folder, _ = _typed_session(tmp_path / "s", voice="openai", llm_model="ok", llm_base_url=server.base_url)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["voice"] == "openai"
    assert "127.0.0.1" in meta["llm"]["base_url"]
    assert meta["llm"]["model"] == "ok" and meta["llm"]["key_source"]
    for path in folder.iterdir():
        assert secret not in path.read_bytes().decode("utf-8", "replace"), path.name


def test_the_scripted_voice_records_no_llm(tmp_path):
    folder, _ = _typed_session(tmp_path / "s")
    assert "llm" not in json.loads((folder / "meta.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------ 5. report folders of same-named inputs

VTT = """WEBVTT

00:00:02.000 --> 00:00:06.000
Which endpoints are failing, and in which regions?

00:00:20.000 --> 00:00:24.000
Roll back the auth service to v2.3.0 now.
"""

SRT = """1
00:00:03,000 --> 00:00:07,000
What changed in the last 24 hours?

2
00:00:40,000 --> 00:00:44,000
Turn off the auth-token-cache feature flag now.
"""


def _owner(folder: Path) -> str:
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))["source"]["path"]


def test_same_named_inputs_get_their_own_report_folders_and_a_rerun_updates_its_own(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "call.vtt").write_text(VTT, encoding="utf-8")
    (tmp_path / "call.srt").write_text(SRT, encoding="utf-8")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "call.srt").write_text(SRT, encoding="utf-8")
    reports = tmp_path / "reports"

    replay_path("call.vtt", history=False, progress=False)
    replay_path("call.srt", history=False, progress=False)
    assert sorted(p.name for p in reports.iterdir()) == ["call", "call-srt"]
    assert _owner(reports / "call") == str((tmp_path / "call.vtt").resolve())
    assert _owner(reports / "call-srt") == str((tmp_path / "call.srt").resolve())

    vtt_report = replay_path("call.vtt", history=False, progress=False, t0_s=1.0)
    srt_report = replay_path("call.srt", history=False, progress=False, t0_s=2.0)
    assert sorted(p.name for p in reports.iterdir()) == ["call", "call-srt"]  # updated, not added
    assert json.loads((reports / "call" / "report.json").read_text())["t0_s"] == vtt_report["t0_s"] == 1.0
    assert json.loads((reports / "call-srt" / "report.json").read_text())["t0_s"] == srt_report["t0_s"] == 2.0

    replay_path("other/call.srt", history=False, progress=False)
    assert sorted(p.name for p in reports.iterdir()) == ["call", "call-srt", "call-srt-2"]
    assert _owner(reports / "call-srt-2") == str((tmp_path / "other" / "call.srt").resolve())

    # With reports/call/ removed, call.srt still finds its own call-srt/ rather than the free first name.
    import shutil

    shutil.rmtree(reports / "call")
    replay_path("call.srt", history=False, progress=False)
    assert not (reports / "call").exists()  # call.srt still owns call-srt/


def test_an_explicit_out_is_used_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "call.vtt").write_text(VTT, encoding="utf-8")
    (tmp_path / "call.srt").write_text(SRT, encoding="utf-8")
    replay_path("call.vtt", history=False, progress=False, out_dir=tmp_path / "mine")
    replay_path("call.srt", history=False, progress=False, out_dir=tmp_path / "mine")
    assert _owner(tmp_path / "mine") == str((tmp_path / "call.srt").resolve())
    assert not (tmp_path / "reports").exists()


def test_replay_help_documents_the_defaults():
    help_text = " ".join(_cli("replay", "--help").stdout.split())
    assert "<name>-<suffix>" in help_text
    assert "the report files and the history entry are written either way" in help_text
    assert "from its meta.json" in help_text


# ------------------------------------------------------------ live practice: Ctrl-C exit code, summary, LLM meta


def test_live_practice_interrupted_prints_the_summary_exits_130_and_records_the_llm(tmp_path, monkeypatch, capsys):
    """practice.main on a virtual mic and speakers with the real models and --voice openai
    (a loopback fake endpoint); Ctrl-C lands in the loop after the mitigation."""
    from fake_openai import FakeOpenAI

    import practice_harness as harness
    from voice_interviewer.live import practice
    from voice_interviewer.live.devices import VirtualDevicePair

    secret = "sk-test-do-not-write-9e2a"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    pair = VirtualDevicePair(duration_s=120)
    pair.feed(harness.candidate(harness.MITIGATION), at_s=20.0)
    interrupted = []

    def ctrl_c(t_s: float) -> None:
        if t_s >= 32.0 and not interrupted:
            interrupted.append(t_s)
            raise KeyboardInterrupt

    pair.on_read = ctrl_c
    monkeypatch.setattr(practice, "open_sound_devices", lambda options, clock: (pair.input, pair.output))
    load_parts = practice.load_parts
    monkeypatch.setattr(practice, "load_parts", lambda *a, **k: load_parts(
        *a, transcriber=harness.transcriber(), synth=harness.synth()))
    sessions = tmp_path / "s"
    with FakeOpenAI() as server:
        server.reply = "Tell me what you would do next."
        args = argparse.Namespace(scenario=None, input=None, output=None, mode="exam", text=False, seed=2,
                                  sessions_dir=str(sessions), tts_model=None, max_minutes=5.0, no_echo_cancel=True,
                                  whisper_model=None, voice="openai", llm_model="ok",
                                  llm_base_url=server.base_url, config=None)
        assert practice.main(args) == 130
    assert interrupted

    (folder,) = sessions.iterdir()
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["mitigation"]["kind"] == "rollback" and report["seed"] == 2
    from voice_interviewer.report import summary_text

    printed = capsys.readouterr().out
    assert summary_text(report) in printed and f"saved in {folder}" in printed
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert (meta["scenario"], meta["scenario_source"], meta["end_reason"]) == ("core-api-500s", "core-api-500s",
                                                                              "interrupted")
    assert meta["llm"]["model"] == "ok" and "127.0.0.1" in meta["llm"]["base_url"] and meta["llm"]["key_source"]
    for path in folder.iterdir():
        assert secret not in path.read_bytes().decode("utf-8", "replace"), path.name
    again = replay_path(folder, write=False, history=False)
    assert (again["scenario"]["id"], again["seed"]) == ("core-api-500s", 2)


@pytest.mark.parametrize("mode", ["coached", "exam"])
def test_only_coached_typed_practice_shows_the_verdict_before_the_summary(tmp_path, mode):
    folder, printed = _typed_session(tmp_path / "s", mode=mode)
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    from voice_interviewer.report import summary_text

    summary = summary_text(report)
    during = printed[:printed.index(summary)]
    assert "# mitigation flag-off-live-inventory" in during
    assert ("after the briefing: in time" in during) == (mode == "coached")
    assert "in time" in summary  # the exam's feedback, at the end
