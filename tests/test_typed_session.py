"""A typed rehearsal (`practice --text`) writes a session folder that `replay` scores the same way."""

from __future__ import annotations

import json
import subprocess
import sys

TURNS = "which endpoints are affected?\nwhat changed in the last 24 hours?\nlet's turn off the auth-token-cache flag now\nquit\n"


def test_typed_session_replays_to_the_same_mitigation(tmp_path):
    sessions = tmp_path / "sessions"
    run = subprocess.run([sys.executable, "-m", "voice_interviewer", "practice", "--text", "--seed", "1",
                          "--sessions-dir", str(sessions)], input=TURNS, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    (folder,) = sessions.iterdir()
    assert folder.stat().st_mode & 0o777 == 0o700
    live = json.loads((folder / "report.json").read_text())
    assert live["mitigation"]["kind"] == "flag_off"

    replayed = subprocess.run([sys.executable, "-m", "voice_interviewer", "replay", str(folder), "--json", "--no-history"],
                              capture_output=True, text=True, timeout=120)
    assert replayed.returncode == 0, replayed.stderr
    again = json.loads(replayed.stdout)
    assert again["mitigation"]["onset_s"] == live["mitigation"]["onset_s"]
    assert again["mitigation"]["quote"] == live["mitigation"]["quote"]
    assert again["two_minute_verdict"] == live["two_minute_verdict"]
    assert [u["text"] for u in again["utterances"] if u["speaker"] == "candidate"] == \
           [u["text"] for u in live["utterances"] if u["speaker"] == "candidate"]
