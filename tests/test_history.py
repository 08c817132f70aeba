"""The history database: a real SQLite file, re-scoring, a killed writer, an old schema."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from report_samples import sample_report
from voice_interviewer import cli, history
from voice_interviewer.errors import UserError


def _recording(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _report_for(path: Path, **kw):
    return sample_report(path=str(path), name=path.name, kind="audio", **kw)


def test_default_database_is_private_in_the_data_home(tmp_path, private_data_home):
    rec = _recording(tmp_path, "take1.wav", b"take one")
    row_id = history.record(_report_for(rec))

    db = private_data_home / "history.sqlite3"
    assert db.is_file()
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(private_data_home).st_mode) == 0o700
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION
    assert [r["id"] for r in history.attempts()] == [row_id]


def test_attempts_are_added_with_their_figures(tmp_path):
    db = tmp_path / "h.sqlite3"
    first = history.record(_report_for(_recording(tmp_path, "a.wav", b"a"), mitigation_at_s=110.0, seed=3), db)
    second = history.record(_report_for(_recording(tmp_path, "b.wav", b"b"), mitigation_at_s=50.0,
                                        scores={"blameless_postmortem": 3}), db)
    rows = history.attempts(db)
    assert [r["id"] for r in rows] == [first, second]
    assert rows[0]["mitigation_latency_s"] == 90.0 and rows[0]["seed"] == 3
    assert rows[1]["mitigation_latency_s"] == 30.0 and rows[1]["blameless_postmortem"] == 3
    assert rows[0]["two_minute_verdict"] == "in_time"
    assert rows[0]["scenario_id"] == "core-api-500s" and rows[0]["source_name"] == "a.wav"
    assert rows[0]["change_check_s"] == 14.0
    assert history.get_attempt(first, db)["summary"]["rubric"]["bias_to_action"]["evidence"]


def test_rescoring_updates_the_row_instead_of_adding_one(tmp_path):
    db = tmp_path / "h.sqlite3"
    rec = _recording(tmp_path, "take.wav", b"the same recording")
    row_id = history.record(_report_for(rec, scores={"signal_usage": 1}), db)
    before = history.attempts(db)[0]

    # The scorer improved; the same recording is scored again — after the user moved it.
    moved = tmp_path / "moved" / "take.wav"
    moved.parent.mkdir()
    rec.rename(moved)
    again = history.record(_report_for(moved, scores={"signal_usage": 3}), db)

    rows = history.attempts(db)
    assert again == row_id and len(rows) == 1
    assert rows[0]["signal_usage"] == 3
    assert rows[0]["attempted_at"] == before["attempted_at"]
    assert before["rescored_at"] is None and rows[0]["rescored_at"] is not None


def test_same_recording_against_another_scenario_is_another_attempt(tmp_path):
    db = tmp_path / "h.sqlite3"
    rec = _recording(tmp_path, "take.wav", b"x")
    history.record(_report_for(rec), db)
    other = _report_for(rec)
    other["scenario"] = {"id": "queue-backlog", "title": "Queue backlog"}
    history.record(other, db)
    assert len(history.attempts(db)) == 2
    assert len(history.attempts(db, "queue-backlog")) == 1


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from voice_interviewer import history
    conn = history.connect(sys.argv[1])
    with history.transaction(conn):
        for i in range(3000):
            history.upsert(conn, {**dict.fromkeys(history.COLUMNS), "attempt_key": f"killed-{i}",
                                  "scenario_id": "core-api-500s", "attempted_at": "2026-12-04T03:00:00",
                                  "summary_json": "x" * 5000})
        print("inside the transaction", flush=True)
        time.sleep(120)
""")


def test_writer_killed_inside_a_transaction_leaves_earlier_rows(tmp_path):
    db = tmp_path / "h.sqlite3"
    kept = [history.record(_report_for(_recording(tmp_path, f"{n}.wav", n.encode())), db) for n in "ab"]

    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "inside the transaction"
        wal = db.with_name(db.name + "-wal")
        wal_bytes = wal.stat().st_size if wal.exists() else 0
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    # 15 MB of uncommitted rows overflow SQLite's page cache, so some were already on disk when it died.
    assert wal_bytes > 1_000_000, wal_bytes

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [r["id"] for r in history.attempts(db)] == kept
    # The lock died with the writer: the next attempt is recorded at once.
    new = history.record(_report_for(_recording(tmp_path, "c.wav", b"c")), db)
    assert [r["id"] for r in history.attempts(db)] == kept + [new]


# What v1 shipped, frozen here on purpose: the migration must upgrade this, not today's DDL.
SCHEMA_V1 = """
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY, attempt_key TEXT NOT NULL UNIQUE, scenario_id TEXT NOT NULL,
    attempted_at TEXT NOT NULL, seed INTEGER, mitigation_latency_s REAL,
    bias_to_action INTEGER, signal_usage INTEGER, diagnostic_precision INTEGER,
    reversible_mitigation INTEGER, blameless_postmortem INTEGER, source_name TEXT, session_path TEXT);
CREATE INDEX attempts_by_scenario ON attempts (scenario_id, attempted_at);
INSERT INTO attempts VALUES (1, 'core-api-500s:old-1', 'core-api-500s', '2026-11-30T21:00:00', 0, 150.5,
                             1, 2, 2, 3, 0, 'first-try.wav', NULL);
INSERT INTO attempts VALUES (2, 'core-api-500s:old-2', 'core-api-500s', '2026-12-01T21:00:00', 1, NULL,
                             0, 1, 1, 0, 0, 'froze.wav', NULL);
INSERT INTO attempts VALUES (3, 'core-api-500s:old-3', 'core-api-500s', '2026-12-02T21:00:00', 2, 95.0,
                             3, 3, 2, 4, 2, 'better.wav', NULL);
PRAGMA user_version = 1;
"""


def test_a_v1_database_migrates_and_keeps_its_rows(tmp_path):
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.executescript(SCHEMA_V1)

    rows = history.attempts(db)

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION
        columns = {r[1] for r in conn.execute("PRAGMA table_info(attempts)")}
    assert set(history.COLUMNS) <= columns
    assert [r["source_name"] for r in rows] == ["first-try.wav", "froze.wav", "better.wav"]
    assert [r["two_minute_verdict"] for r in rows] == ["late", "none", "in_time"]
    assert all(r["mark_s"] == 120.0 for r in rows)
    new = history.record(_report_for(_recording(tmp_path, "d.wav", b"d")), db)
    assert new == 4 and len(history.attempts(db)) == 4


def test_a_newer_schema_is_refused_in_one_line(tmp_path):
    db = tmp_path / "future.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {history.SCHEMA_VERSION + 1}")
    with pytest.raises(UserError, match="newer than this voice-interviewer"):
        history.attempts(db)


def test_not_a_database_is_a_user_error(tmp_path, capsys):
    db = _recording(tmp_path, "h.sqlite3", b"this is not sqlite" * 100)
    assert cli.main(["history", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("voice-interviewer: ") and "not a usable history database" in err
    assert len(err.strip().splitlines()) == 1


def test_history_command_prints_a_table_and_writes_a_chart(tmp_path, capsys):
    from PIL import Image, ImageStat

    db = tmp_path / "h.sqlite3"
    for n, at in enumerate((170.0, 120.0, 75.0)):
        history.record(_report_for(_recording(tmp_path, f"try{n}.wav", bytes([n])), mitigation_at_s=at), db)

    assert cli.main(["history", "--db", str(db), "--scenario", "core-api-500s"]) == 0
    out = capsys.readouterr().out
    assert "try0.wav" in out and "try2.wav" in out and "150.0 s" in out and "55.0 s" in out
    chart = db.parent / "history.png"
    image = Image.open(chart).convert("L")
    assert ImageStat.Stat(image).stddev[0] > 10

    svg = tmp_path / "trend.svg"
    assert cli.main(["history", "--db", str(db), "--json", "--chart", str(svg)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [a["mitigation_latency_s"] for a in data["attempts"]] == [150.0, 100.0, 55.0]
    assert data["chart"] == str(svg) and "two-minute line" in svg.read_text()


def test_history_without_a_database_says_so(tmp_path, capsys):
    assert cli.main(["history", "--db", str(tmp_path / "none.sqlite3")]) == 0
    assert "no attempts recorded yet" in capsys.readouterr().out
    assert not (tmp_path / "none.sqlite3").exists()
