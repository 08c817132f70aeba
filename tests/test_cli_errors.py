"""``voice-interviewer replay`` on bad input: one line on stderr, non-zero exit, no traceback.

Each case runs the real command in a subprocess, as a user would, so the
error path through cli.main is what is tested, not a function's exception.

A WAV cut off in the middle of its samples (a recorder killed mid-take) is
not an error: replay reads the samples that are there and scores them, with
one warning line. A WAV cut inside its header has nothing to read and fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from conftest import FIXTURES_DIR, REPO_ROOT

FIXTURE = FIXTURES_DIR / "fast_rollback.wav"
TRUTH = json.loads((FIXTURES_DIR / "truth.json").read_text(encoding="utf-8"))["fixtures"]


def run_replay(*args: str | Path, cwd: Path | None = None, history: bool = False) -> subprocess.CompletedProcess:
    # conftest points VOICE_INTERVIEWER_HOME at a fresh folder; the child inherits it.
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    flags = ["--no-progress"] + ([] if history else ["--no-history"])
    return subprocess.run(
        [sys.executable, "-m", "voice_interviewer", "replay", *map(str, args), *flags],
        capture_output=True, text=True, cwd=cwd or REPO_ROOT, env=env, timeout=300,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *expected: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def write_wav_int16(path: Path, n_samples: int, sample_rate: int = 16_000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(b"\x00\x00" * n_samples)
    return path


def test_missing_file(tmp_path):
    assert_one_line_error(run_replay(tmp_path / "nope.wav", "--out", tmp_path / "out"), "nope.wav")


def test_text_file_named_wav(tmp_path):
    fake = tmp_path / "notes.wav"
    fake.write_text("roll back the auth service\nthen post a status update\n", encoding="utf-8")
    assert_one_line_error(run_replay(fake, "--out", tmp_path / "out"), "notes.wav", "not an audio file")


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert_one_line_error(run_replay(empty, "--out", tmp_path / "out"), "empty.wav", "empty")


def test_wav_truncated_inside_header(tmp_path):
    cut = tmp_path / "cut_header.wav"
    cut.write_bytes(FIXTURE.read_bytes()[:30])  # inside the fmt chunk
    assert_one_line_error(run_replay(cut, "--out", tmp_path / "out"), "cut_header.wav", "truncated")


def test_wav_truncated_inside_data_replays_what_is_there(tmp_path):
    """The user-friendly choice: a take cut short is still scored up to the cut."""
    truth = TRUTH["fast_rollback"]
    keep_s = truth["mitigation_onset_s"] + 8.0  # the mitigation line survives the cut
    cut = tmp_path / "cut_data.wav"
    cut.write_bytes(FIXTURE.read_bytes()[: 44 + int(keep_s * 16_000) * 2 + 1])  # odd: a torn sample too
    result = run_replay(cut, "--json", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 1  # at most the "reading what is there" warning
    report = json.loads(result.stdout)
    assert report["duration_s"] == pytest.approx(keep_s, abs=0.1)
    assert report["two_minute_verdict"] == truth["two_minute_verdict"]
    assert report["mitigation"]["onset_s"] == pytest.approx(truth["mitigation_onset_s"], abs=0.5)


def test_silence_only_says_no_speech_found(tmp_path):
    silence = write_wav_int16(tmp_path / "silence.wav", 16_000 * 5)
    result = run_replay(silence, "--out", tmp_path / "out")
    assert_one_line_error(result, "no speech found")
    assert result.returncode == 1


def test_unknown_scenario_id(tmp_path):
    line = assert_one_line_error(run_replay(FIXTURE, "--scenario", "no-such-scenario", "--out", tmp_path / "out"),
                                 "no-such-scenario")
    assert "core-api-500s" in line  # the message lists the ones that exist


def test_malformed_scenario_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("schema_version: 1\nid: broken\ntitle: [unclosed\n", encoding="utf-8")
    assert_one_line_error(run_replay(FIXTURE, "--scenario", bad, "--out", tmp_path / "out"), "broken.yaml")


def test_scenario_file_with_a_bad_field(tmp_path):
    bad = tmp_path / "bad_field.yaml"
    bad.write_text("schema_version: 1\nid: bad-field\ntitle: A title\nmitigation_mark_s: soon\n", encoding="utf-8")
    assert_one_line_error(run_replay(FIXTURE, "--scenario", bad, "--out", tmp_path / "out"), "bad_field.yaml")


def test_out_below_a_regular_file(tmp_path):
    # The tests may run as root, for whom permission bits do not stop a write;
    # a folder that would have to live inside a regular file fails for everyone.
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")
    assert_one_line_error(run_replay(FIXTURE, "--out", blocker / "reports"), "a_file")


def test_out_is_a_regular_file(tmp_path):
    target = tmp_path / "report.txt"
    target.write_text("", encoding="utf-8")
    assert_one_line_error(run_replay(FIXTURE, "--out", target), "report.txt")


def test_t0_past_the_end_of_a_recording(tmp_path):
    line = assert_one_line_error(run_replay(FIXTURE, "--t0", "9999", "--out", tmp_path / "out"), "--t0")
    assert "past the end" in line


def test_negative_t0(tmp_path):
    assert_one_line_error(run_replay(FIXTURE, "--t0", "-5", "--out", tmp_path / "out"), "--t0")


# ------------------------------------------------------------- transcripts

VTT = """WEBVTT

00:00:02.000 --> 00:00:06.500
Okay, which endpoints and regions are affected?

00:00:40.000 --> 00:00:44.000
Should we maybe roll back?

00:01:05.000 --> 00:01:09.000
Let's roll back the auth service deploy right now.

00:01:15.000 --> 00:01:19.000
I'll post a status update in the incident channel.
"""

SRT = """1
00:00:05,000 --> 00:00:09,000
What changed in the last 24 hours? Any deploys?

2
00:02:50,000 --> 00:02:54,500
Turn off the token cache feature flag now.
"""


def test_vtt_replay_with_t0(tmp_path):
    call = tmp_path / "call.vtt"
    call.write_text(VTT, encoding="utf-8")
    out = tmp_path / "out"
    result = run_replay(call, "--t0", "35", "--json", "--out", out)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["source"]["kind"] == "transcript"
    assert report["t0_s"] == pytest.approx(35.0)
    assert report["mitigation"]["onset_s"] == pytest.approx(65.0, abs=0.01)
    assert report["mitigation"]["latency_s"] == pytest.approx(30.0, abs=0.01)
    assert report["mitigation"]["kind"] == "rollback"
    assert report["two_minute_verdict"] == "in_time"
    assert (out / "report.json").is_file() and (out / "report.md").is_file()


def test_srt_replay_with_t0_is_late(tmp_path):
    call = tmp_path / "call.srt"
    call.write_text(SRT, encoding="utf-8")
    result = run_replay(call, "--t0", "20", "--json", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mitigation"]["latency_s"] == pytest.approx(150.0, abs=0.01)
    assert report["mitigation"]["kind"] == "flag_off"
    assert report["two_minute_verdict"] == "late"


def test_t0_past_the_end_of_a_transcript(tmp_path):
    call = tmp_path / "call.vtt"
    call.write_text(VTT, encoding="utf-8")
    assert_one_line_error(run_replay(call, "--t0", "900", "--out", tmp_path / "out"), "--t0")


def test_default_out_dir_is_reports_name(tmp_path):
    call = tmp_path / "standup.vtt"
    call.write_text(VTT, encoding="utf-8")
    result = run_replay(call, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "reports" / "standup" / "report.json").is_file()
    assert "Traceback" not in result.stderr


def test_replay_records_the_attempt_in_history(tmp_path, private_data_home):
    from voice_interviewer import history

    call = tmp_path / "call.vtt"
    call.write_text(VTT, encoding="utf-8")
    result = run_replay(call, "--t0", "35", "--out", tmp_path / "out", history=True)
    assert result.returncode == 0, result.stderr
    rows = history.attempts()
    assert len(rows) == 1
    assert rows[0]["mitigation_latency_s"] == pytest.approx(30.0, abs=0.01)
    assert rows[0]["two_minute_verdict"] == "in_time"
    assert str(private_data_home) in str(history.default_db_path())
