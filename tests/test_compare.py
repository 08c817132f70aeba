"""compare: two attempts side by side, from folders, report.json files and history ids."""

from __future__ import annotations

import json

import pytest

from report_samples import sample_report
from voice_interviewer import cli, history

POSTMORTEM_QUOTE = "For the postmortem: timeline, impact, and the connection pool as root cause."


@pytest.fixture
def attempts(tmp_path):
    """A slow first attempt and a faster second one with a better postmortem, as report folders."""
    a = sample_report(mitigation_at_s=150.0, name="first", path=str(tmp_path / "first.wav"), kind="audio",
                      scores={"blameless_postmortem": 1})
    b = sample_report(mitigation_at_s=60.0, name="second", path=str(tmp_path / "second.wav"), kind="audio",
                      scores={"blameless_postmortem": 3})
    a["rubric"]["blameless_postmortem"]["evidence"] = [{"t_s": 100.0, "quote": "Someone broke auth.",
                                                        "note": "blame"}]
    b["rubric"]["blameless_postmortem"]["evidence"] = [
        {"t_s": 100.0, "quote": "Someone broke auth.", "note": "blame"},
        {"t_s": 130.0, "quote": POSTMORTEM_QUOTE, "note": "timeline, impact, root cause"},
    ]
    b["clocks"]["communication"] = None
    b["delivery"]["fillers_per_minute"] = a["delivery"]["fillers_per_minute"] / 2
    dirs = []
    for name, report in (("first", a), ("second", b)):
        (tmp_path / f"{name}.wav").write_bytes(name.encode())
        folder = tmp_path / name
        folder.mkdir()
        (folder / "report.json").write_text(json.dumps(report))
        dirs.append(folder)
    return dirs, (a, b)


def _compare_json(capsys, *argv):
    assert cli.main(["compare", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_what_got_faster_and_which_quote_moved_the_score(attempts, capsys):
    (first, second), _ = attempts
    result = _compare_json(capsys, str(first), str(second / "report.json"))

    clocks = {c["clock"]: c for c in result["clocks"]}
    assert clocks["mitigation"]["change"] == "faster" and clocks["mitigation"]["delta_s"] == -90.0
    assert clocks["change_check"]["change"] == "same"
    assert clocks["communication"]["change"] == "only A"
    assert result["verdict"] == {"a": "late", "b": "in_time"}

    rubric = {r["dimension"]: r for r in result["rubric"]}
    assert rubric["blameless_postmortem"]["delta"] == 2
    assert rubric["blameless_postmortem"]["quote"] == POSTMORTEM_QUOTE  # the new evidence, not the shared one
    assert rubric["blameless_postmortem"]["quote_from"] == "b"
    assert rubric["signal_usage"]["delta"] == 0 and rubric["signal_usage"]["quote"] is None
    assert {d["metric"]: d["better"] for d in result["delivery"]}["fillers_per_minute"] == "b"


def test_history_ids_compare_without_the_folders(attempts, tmp_path, capsys):
    _, (a, b) = attempts
    db = tmp_path / "h.sqlite3"
    id_a, id_b = history.record(a, db), history.record(b, db)
    result = _compare_json(capsys, str(id_a), f"#{id_b}", "--db", str(db))
    assert result["a"]["label"] == f"#{id_a}" and result["b"]["source"] == "second"
    assert {c["clock"]: c["delta_s"] for c in result["clocks"]}["mitigation"] == -90.0


def test_table_output_names_the_quote(attempts, capsys):
    (first, second), _ = attempts
    assert cli.main(["compare", str(first), str(second)]) == 0
    out = capsys.readouterr().out
    assert "90.0 s faster" in out and "connection pool" in out


@pytest.mark.parametrize("bad, message", [
    ("nowhere", "no such session folder, report.json or history id"),
    ("999", "no attempt 999"),
])
def test_bad_attempt_is_one_line(attempts, tmp_path, capsys, bad, message):
    (first, _), (a, _) = attempts
    db = tmp_path / "h.sqlite3"
    history.record(a, db)
    assert cli.main(["compare", str(first), bad, "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_folder_without_a_report_is_one_line(tmp_path, attempts, capsys):
    (first, _), _ = attempts
    (tmp_path / "empty").mkdir()
    assert cli.main(["compare", str(first), str(tmp_path / "empty")]) == 1
    assert "no report.json there" in capsys.readouterr().err
