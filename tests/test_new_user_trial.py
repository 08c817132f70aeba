"""Regressions from the new-user trial: each test is named for what broke, over the exact inputs.

1. a scenario id could escape the sessions folder, and two sessions could share one;
2. a torn or non-UTF-8 events.jsonl crashed replay; a damaged meta.json did too;
3. ``--t0 nan`` wrote a report.json holding NaN, then crashed;
4. an .srt whose cues are empty crashed; a UTF-16 .vtt came out as mojibake;
5. scenario numbers could be negative or NaN; the unknown-field message was unclear;
6. simulate's TURNS times were read out of range, or not at all;
7. history.png (and any file written over an older one) was 0644.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import logging
import os
import stat
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from report_samples import sample_report
from voice_interviewer import cli, history, session
from voice_interviewer.errors import UserError
from voice_interviewer.events import EventLog, read_events
from voice_interviewer.scenario import ScenarioError, parse_scenario

SEED_TEXT = (REPO_ROOT / "scenarios" / "core-api-500s.yaml").read_text(encoding="utf-8")


def run_cli(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "voice_interviewer", *map(str, args)], capture_output=True,
                          text=True, input=stdin, cwd=REPO_ROOT, env=env, timeout=120)


def one_line(proc: subprocess.CompletedProcess, exit_code: int, *expected: str) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == exit_code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def with_field(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# ------------------------------------------------------- 1. session folders


UNSAFE_IDS = ["../../etc", "../x", "a/b", "/tmp/abs", "..", "Core-API", "-lead", "with space", "x" * 65, "ü-umlaut"]


@pytest.mark.parametrize("bad_id", UNSAFE_IDS)
def test_scenario_id_that_is_not_a_slug_is_rejected_naming_file_and_field(tmp_path, bad_id):
    text = with_field(SEED_TEXT, "id: core-api-500s", f"id: {json.dumps(bad_id)}")
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="mine.yaml")
    assert info.value.field_path == "id" and info.value.exit_code == 2
    assert str(info.value).startswith("mine.yaml: id: ") and "lowercase letters, digits and hyphens" in str(info.value)

    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    one_line(run_cli("scenarios", "check", path), 2, str(path), "id")


@pytest.mark.parametrize("good_id", ["core-api-500s", "x", "9lives", "a" * 64])
def test_slug_scenario_ids_still_load(good_id):
    assert parse_scenario(with_field(SEED_TEXT, "id: core-api-500s", f"id: {good_id}")).id == good_id


@pytest.mark.parametrize("unsafe_id", UNSAFE_IDS + ["", "...", "a/../../b", "\x00nul"])
def test_new_session_dir_stays_inside_the_sessions_root(tmp_path, unsafe_id):
    root = tmp_path / "sessions"
    folder = session.new_session_dir(unsafe_id, root)
    assert folder.parent == root.resolve()
    assert folder.is_dir() and mode(folder) == 0o700
    name = folder.name.split("_", 1)[1]
    assert name and set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-") and len(name) <= 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sessions"]  # nothing created beside it


class _FrozenClock:
    """datetime whose now() is one fixed second, so every session lands in the same second."""

    @staticmethod
    def now():
        return datetime.datetime(2026, 12, 4, 2, 13, 7)


def test_two_sessions_in_the_same_second_never_share_a_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(session, "dt", types.SimpleNamespace(datetime=_FrozenClock))
    root = tmp_path / "sessions"
    folders: list[Path] = []
    lock = threading.Lock()

    def start() -> None:
        folder = session.new_session_dir("core-api-500s", root)
        with lock:
            folders.append(folder)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = sorted(f.name for f in folders)
    assert len(set(names)) == 8, names
    assert "2026-12-04T02-13-07_core-api-500s" in names and "2026-12-04T02-13-07_core-api-500s-8" in names
    # An existing folder of that name (a file, even) is skipped, never reused.
    (root / "2026-12-04T02-13-07_core-api-500s-9").write_text("", encoding="utf-8")
    assert session.new_session_dir("core-api-500s", root).name == "2026-12-04T02-13-07_core-api-500s-10"


# ------------------------------------------------------- 2. events and meta


def _good_events(path: Path) -> None:
    log = EventLog(path)
    log.append(0.0, "session_started", source="text")
    log.append(3.5, "briefing_ended")
    log.close()


DAMAGED_TAILS = {
    "torn-multibyte-last-line": '{"t_s": 4.0, "kind": "transcript_final", "text": "caf\u00e9'.encode("utf-8")[:-1],
    "latin1-byte-in-a-line": b'{"t_s": 4.0, "kind": "transcript_final", "text": "caf\xe9"}\n',
    "binary-garbage-line": bytes(range(256)) + b"\n",
    "nan-time": b'{"t_s": NaN, "kind": "briefing_ended"}\n',
    "infinite-time": b'{"t_s": Infinity, "kind": "briefing_ended"}\n',
    "not-an-object": b"5\nnull\n[1, 2]\n\"text\"\n",
}


@pytest.mark.parametrize("case", DAMAGED_TAILS)
def test_read_events_survives_a_damaged_line(tmp_path, case, caplog):
    path = tmp_path / "events.jsonl"
    _good_events(path)
    with open(path, "ab") as f:
        f.write(DAMAGED_TAILS[case])
    with caplog.at_level(logging.WARNING, logger="voice_interviewer.events"):
        events = read_events(path)
    kinds = [e.kind for e in events]
    assert kinds[:2] == ["session_started", "briefing_ended"]
    if case == "latin1-byte-in-a-line":  # the line is kept, the byte replaced
        assert kinds[2] == "transcript_final" and events[2].data["text"] == "caf\ufffd"
    else:
        assert len(events) == 2
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # one warning for the file, not one per line


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xfe\x00\x01\n\xfe"])
def test_read_events_on_a_binary_file_is_one_line_user_error(tmp_path, content):
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    with pytest.raises(UserError) as info:
        read_events(path)
    assert "no readable events" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("meta_bytes", [b"\xff\xfe\x00garbage", b"{\"t0_s\": 1", b"[1, 2]", b"\"a string\"",
                                        b'{"t0_s": "soon"}', b'{"t0_s": NaN}'])
def test_unreadable_meta_json_is_a_warning_not_a_crash(tmp_path, meta_bytes, caplog):
    folder = tmp_path / "s"
    folder.mkdir()
    log = EventLog(folder / "events.jsonl")
    log.append(0.0, "session_started")
    log.close()
    (folder / "meta.json").write_bytes(meta_bytes)
    with caplog.at_level(logging.WARNING):
        data = session.read_session(folder)
        assert data.t0_s() == 0.0
    assert isinstance(data.meta, dict)
    assert any("meta.json" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


def _typed_session(tmp_path: Path) -> Path:
    from voice_interviewer.simulate import practice_text

    args = argparse.Namespace(scenario="core-api-500s", seed=5, mode="coached", sessions_dir=str(tmp_path / "s"),
                              max_minutes=5.0, voice="scripted", text=True)
    typed = io.StringIO("Which endpoints are failing?\nTurn off the auth-token-cache feature flag now.\nquit\n")
    assert practice_text(args, stdin=typed, out=io.StringIO()) == 0
    [folder] = (tmp_path / "s").iterdir()
    return folder


@pytest.mark.parametrize("case", ["torn-multibyte-last-line", "latin1-byte-in-a-line", "binary-garbage-line"])
def test_replay_of_a_session_with_a_damaged_events_file_still_scores(tmp_path, case):
    folder = _typed_session(tmp_path)
    with open(folder / "events.jsonl", "ab") as f:
        f.write(DAMAGED_TAILS[case])
    proc = run_cli("replay", folder, "--json", "--no-progress", "--no-history", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1  # the one warning
    assert json.loads(proc.stdout)["mitigation"]["kind"] == "flag_off"


def test_replay_of_a_session_whose_events_file_is_binary_is_one_line(tmp_path):
    folder = _typed_session(tmp_path)
    (folder / "events.jsonl").write_bytes(bytes(range(256)) * 8)
    one_line(run_cli("replay", folder, "--no-progress", "--no-history", "--out", tmp_path / "out"), 1,
             "events.jsonl", "no readable events")


# ------------------------------------------------------- 3. non-finite numbers

VTT = ("WEBVTT\n\n00:00:02.000 --> 00:00:06.500\nWhich endpoints and regions are affected?\n\n"
       "00:01:05.000 --> 00:01:09.000\nLet's roll back the auth service deploy right now.\n")


@pytest.mark.parametrize("t0", ["nan", "NaN", "inf", "-inf", "1e999", "-5", "soon"])
def test_replay_t0_that_is_not_a_finite_time_is_rejected_before_any_report(tmp_path, t0):
    call = tmp_path / "call.vtt"
    call.write_text(VTT, encoding="utf-8")
    out = tmp_path / "out"
    one_line(run_cli("replay", call, f"--t0={t0}", "--no-history", "--out", out), 2, "--t0", t0)
    assert not out.exists()


@pytest.mark.parametrize("minutes", ["nan", "inf", "-inf", "0", "-1", "1e999"])
def test_practice_max_minutes_must_be_finite_and_positive(minutes):
    one_line(run_cli("practice", "--text", f"--max-minutes={minutes}", stdin="quit\n"), 2, "--max-minutes")


@pytest.mark.parametrize("where", [("mitigation", "latency_s"), ("t0_s",), ("rubric", "bias_to_action", "score")])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_report_with_a_non_finite_number_is_never_written(tmp_path, where, bad):
    from voice_interviewer.report import write_reports

    report = sample_report(path=str(tmp_path / "a.wav"), name="a.wav", kind="audio")
    target = report
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = bad
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"non-finite number at " + r"\.".join(where)):
        write_reports(report, out)
    assert not out.exists() or not any(out.iterdir())


def test_replay_path_rejects_a_nan_t0_from_the_library_too(tmp_path):
    from voice_interviewer.replay import replay_path

    call = tmp_path / "call.vtt"
    call.write_text(VTT, encoding="utf-8")
    with pytest.raises(UserError, match="--t0"):
        replay_path(call, t0_s=float("nan"), write=False, history=False)


# ------------------------------------------------------- 4. transcripts

EMPTY_CUE_SRTS = {
    "one-empty-cue": "1\n00:00:01,000 --> 00:00:02,000\n",
    "empty-cue-with-blank-line": "1\n00:00:01,000 --> 00:00:02,000\n\n\n",
    "only-markup": "1\n00:00:01,000 --> 00:00:02,000\n<i></i> {\\an8}\n\n2\n00:00:03,000 --> 00:00:04,000\n&nbsp;\n",
}


@pytest.mark.parametrize("case", EMPTY_CUE_SRTS)
def test_srt_with_only_empty_cues_says_no_speech_found(tmp_path, case):
    from voice_interviewer.transcripts import read_transcript

    path = tmp_path / "call.srt"
    path.write_text(EMPTY_CUE_SRTS[case], encoding="utf-8")
    with pytest.raises(UserError, match="no speech found"):
        read_transcript(path)
    one_line(run_cli("replay", path, "--no-history", "--out", tmp_path / "out"), 1, "no speech found")


@pytest.mark.parametrize("srt", [
    "1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:05,000\nRoll back the auth deploy now.\n",
    # an exporter that drops the blank line after an empty cue
    "1\n00:00:01,000 --> 00:00:02,000\n2\n00:00:03,000 --> 00:00:05,000\nRoll back the auth deploy now.\n",
])
def test_srt_empty_cue_is_skipped(tmp_path, srt):
    from voice_interviewer.transcripts import read_transcript

    path = tmp_path / "call.srt"
    path.write_text(srt, encoding="utf-8")
    [u] = read_transcript(path)
    assert (u.start_s, u.end_s, u.text) == (3.0, 5.0, "Roll back the auth deploy now.")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32"])
def test_vtt_with_a_byte_order_mark_is_decoded_not_mojibake(tmp_path, encoding):
    from voice_interviewer.transcripts import read_transcript

    text = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nRoll back the auth deploy \u2014 now, s\u2019il vous pla\u00eet.\n"
    raw = text.encode(encoding)
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    path = tmp_path / "call.vtt"
    path.write_bytes(bom + raw)
    [u] = read_transcript(path)
    assert u.text == "Roll back the auth deploy \u2014 now, s\u2019il vous pla\u00eet."


@pytest.mark.parametrize("raw, message", [
    ("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n\u00ff\u00feRoll back now.\n".encode("latin-1"), "not UTF-8 text"),
    ("1\n00:00:01,000 --> 00:00:02,000\nWe\u2019ll fail over now.\n".encode("cp1252"), "not UTF-8 text"),
    (b"\xff\xfeW\x00E\x00B", "UTF-16-LE byte-order mark but is not"),
    ("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nhi\n".encode("utf-16-le"), "not a text file"),
])
def test_transcript_that_is_not_utf8_or_marked_utf16_is_one_line_error(tmp_path, raw, message):
    from voice_interviewer.transcripts import read_transcript

    path = tmp_path / "call.vtt"
    path.write_bytes(raw)
    with pytest.raises(UserError) as info:
        read_transcript(path)
    assert message in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------- 5. scenario numbers and messages


@pytest.mark.parametrize("old, new, field", [
    ("time_limit_s: 900", "time_limit_s: -3", "time_limit_s"),
    ("time_limit_s: 900", "time_limit_s: 0", "time_limit_s"),
    ("time_limit_s: 900", "time_limit_s: .nan", "time_limit_s"),
    ("time_limit_s: 900", "time_limit_s: .inf", "time_limit_s"),
    ("mitigation_mark_s: 120", "mitigation_mark_s: .nan", "mitigation_mark_s"),
    ("mitigation_mark_s: 120", "mitigation_mark_s: -120", "mitigation_mark_s"),
    ("mitigation_mark_s: 120", "mitigation_mark_s: -.inf", "mitigation_mark_s"),
    ("after_s: 100", "after_s: .nan", "trigger.after_s"),
    ("after_s: 100", "after_s: -90", "trigger.after_s"),
    ("over_s: 45", "over_s: .inf", "trigger.over_s"),
    ("count: 4", "count: 0", "trigger.count"),
])
def test_scenario_number_that_is_not_positive_and_finite_is_rejected(tmp_path, old, new, field):
    text = with_field(SEED_TEXT, old, new)
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    line = one_line(run_cli("scenarios", "check", path), 2, str(path), field)
    assert "must be positive" in line or "must be a finite number" in line


@pytest.mark.parametrize("key, value, field", [
    ("weight", ".nan", "weight"), ("weight", "-1", "weight"), ("weight", "0", "weight"),
    ("delay_s", ".nan", "trigger.delay_s"), ("delay_s", "-1", "trigger.delay_s"),
])
def test_complication_number_that_is_not_finite_is_rejected(key, value, field):
    import yaml

    raw = yaml.safe_load(SEED_TEXT)
    target = raw["complications"][0]
    (target["trigger"] if key == "delay_s" else target)[key] = yaml.safe_load(value)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(yaml.safe_dump(raw, sort_keys=False), source="mine.yaml")
    assert info.value.field_path == f"complications[0].{field}"


def test_unknown_field_message_quotes_the_fields_and_suggests_the_closest():
    text = with_field(SEED_TEXT, "title:", "titel:")
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="mine.yaml")
    problem = info.value.problem
    assert info.value.field_path == "titel"
    assert "did you mean 'title'?" in problem and "'unrecognised'" in problem and "docs/SCENARIOS.md" in problem
    assert "expected one of" not in problem


@pytest.mark.parametrize("args", [
    ["simulate", "--scenario", "nope", "--candidate", "-"],
    ["simulate", "--scenario", "/nonexistent/s.yaml", "--candidate", "-"],
    ["replay", "{tmp}/call.vtt", "--scenario", "nope", "--no-history", "--out", "{tmp}/out"],
])
def test_unknown_scenario_is_a_usage_error_exit_2_like_an_invalid_file(tmp_path, args):
    (tmp_path / "call.vtt").write_text(VTT, encoding="utf-8")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    one_line(run_cli(*args, stdin="hello\n"), 2, "scenario")


# ------------------------------------------------------- 6. TURNS files


@pytest.mark.parametrize("line, problem", [
    ("99:99 text", "seconds must be under 60"),
    ("00:60 text", "seconds must be under 60"),
    ("1:60:00 text", "minutes must be under 60"),
    ("00:05 ", "with no turn text"),
    ("00:05", "with no turn text"),
    ("[01:00]", "with no turn text"),
])
def test_turns_time_out_of_range_or_without_text_names_the_line(tmp_path, line, problem):
    turns = tmp_path / "turns.txt"
    turns.write_text(f"# a comment\n00:01 Which endpoints are failing?\n{line}\n", encoding="utf-8")
    one_line(run_cli("simulate", "--candidate", turns), 1, f"{turns}:3", problem)


@pytest.mark.parametrize("line, at_s, text", [
    ("9999:00 roll back the auth service", 9999 * 60.0, "roll back the auth service"),
    ("120:30 roll back", 120 * 60 + 30.0, "roll back"),
    ("1:02:03 roll back", 3723.0, "roll back"),
    ("[00:05] which regions?", 5.0, "which regions?"),
    ("00:05.5 which regions?", 5.5, "which regions?"),
    ("Roll back the auth service.", None, "Roll back the auth service."),
])
def test_turns_time_prefix_accepts_any_minutes_and_hours(line, at_s, text):
    from voice_interviewer.simulate import parse_turns

    [turn] = parse_turns(line + "\n", "t.txt")
    assert (turn.at_s, turn.text) == (at_s, text)


def test_simulate_candidate_that_is_a_directory_says_so(tmp_path):
    folder = tmp_path / "adir"
    folder.mkdir()
    one_line(run_cli("simulate", "--candidate", folder), 1, "adir", "is a directory")


# ------------------------------------------------------- 7. file modes


def _history_db(tmp_path: Path) -> Path:
    db = tmp_path / "data" / "h.sqlite3"
    db.parent.mkdir()
    for n, at in enumerate((170.0, 75.0)):
        wav = tmp_path / f"try{n}.wav"
        wav.write_bytes(bytes([n]))
        history.record(sample_report(path=str(wav), name=wav.name, kind="audio", mitigation_at_s=at), db)
    return db


@pytest.mark.parametrize("chart", [None, "trend.png", "trend.svg", "trend.pdf"])
def test_history_chart_is_private_even_over_an_older_public_file(tmp_path, chart, capsys):
    db = _history_db(tmp_path)
    path = db.parent / (chart or "history.png")
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    assert cli.main(["history", "--db", str(db), *(["--chart", str(path)] if chart else [])]) == 0
    assert mode(path) == 0o600 and path.stat().st_size > 100


def test_history_chart_with_an_unknown_format_is_one_line_and_leaves_no_file(tmp_path, capsys):
    db = _history_db(tmp_path)
    assert cli.main(["history", "--db", str(db), "--chart", str(tmp_path / "trend.xyz")]) == 1
    assert "cannot write a chart as .xyz" in capsys.readouterr().err
    assert not (tmp_path / "trend.xyz").exists()


def test_reports_are_private_even_over_older_public_files(tmp_path):
    from voice_interviewer.report import write_reports

    out = tmp_path / "out"
    out.mkdir()
    for name in ("report.json", "report.md", "report.html"):
        (out / name).write_text("old", encoding="utf-8")
        os.chmod(out / name, 0o644)
    written = write_reports(sample_report(path=str(tmp_path / "a.wav"), name="a.wav", kind="audio"), out)
    assert {p.name for p in written} == {"report.json", "report.md", "report.html"}
    assert all(mode(p) == 0o600 for p in written)


def test_session_meta_json_is_private_and_strict_json(tmp_path):
    folder = session.new_session_dir("core-api-500s", tmp_path)
    writer = session.SessionWriter.create(folder, {"scenario": "core-api-500s"})
    try:
        with pytest.raises(ValueError):
            writer.write_meta(t0_s=float("nan"))
    finally:
        writer.close()
    assert mode(folder / "meta.json") == 0o600
    assert json.loads((folder / "meta.json").read_text(encoding="utf-8"), parse_constant=pytest.fail)


def test_tts_disk_cache_clips_are_private(tmp_path):
    from voice_interviewer.live.tts import Synthesizer

    synth = Synthesizer(cache_dir=tmp_path / "tts")
    try:
        synth.synthesize("Roll back the deploy.")
    finally:
        synth.close()
    clips = list((tmp_path / "tts").rglob("*.npy"))
    assert clips and all(mode(p) == 0o600 for p in clips)
    assert not list((tmp_path / "tts").rglob("*.tmp.npy"))


@pytest.mark.parametrize("raw", [b"schema_version: 1\nid: caf\xe9\n", b"\xff\xfe\x00\x01"])
def test_scenario_file_that_is_not_utf8_is_one_line_for_every_command(tmp_path, raw):
    path = tmp_path / "mine.yaml"
    path.write_bytes(raw)
    one_line(run_cli("scenarios", "check", path), 2, str(path), "not UTF-8 text")
    one_line(run_cli("simulate", "--scenario", path, "--candidate", "-", stdin="hello\n"), 2, "not UTF-8 text")
