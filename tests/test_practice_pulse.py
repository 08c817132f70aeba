"""``voice-interviewer practice`` end to end through a real sound server.

A private PulseAudio daemon (tests/pulse.py) provides a virtual mic and
virtual speakers; ``practice`` runs as a subprocess with ``--input pulse
--output pulse``, PortAudio and all. The test plays candidate speech into the
mic as the conversation goes (driven by the session's own events.jsonl),
records the speakers with parec, and checks: the briefing is spoken, a
question gets the scenario's answer, a barge-in stops playback, a
complication interrupts a long monologue, Ctrl-C ends with a report, and the
folder replays to the same mitigation time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from practice_harness import MONOLOGUE_SENTENCES
from pulse import PULSE_RATE, pulse_server, read_raw  # noqa: F401  (pulse_server is a fixture)
from speech_scenes import espeak_clip
from voice_interviewer.live.devices import resample
from voice_interviewer.replay import replay_path

pytestmark = [pytest.mark.pulse, pytest.mark.slow]
SR = 16_000
MONOLOGUE = " ".join(MONOLOGUE_SENTENCES[:12])


class Session:
    """The practice subprocess and its events.jsonl, read as it grows."""

    def __init__(self, sessions: Path, proc: subprocess.Popen):
        self.sessions, self.proc = sessions, proc

    def events(self) -> list[dict]:
        files = list(self.sessions.glob("*/events.jsonl"))
        if not files:
            return []
        out = []
        for line in files[0].read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line being written
        return out

    @property
    def folder(self) -> Path:
        return next(self.sessions.glob("*/events.jsonl")).parent

    def wait_for(self, predicate, timeout_s: float, what: str) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"practice exited ({self.proc.returncode}) waiting for {what}: "
                                     f"{self.proc.stderr.read()[-1500:]}")
            for e in self.events():
                if predicate(e):
                    return e
            time.sleep(0.1)
        raise AssertionError(f"no {what} within {timeout_s} s; events: {[e['kind'] for e in self.events()]}")


def kind(k, **data):
    return lambda e: e["kind"] == k and all(e.get(key) == v for key, v in data.items())


def speak(pulse, text: str) -> subprocess.Popen:
    clip = espeak_clip(text, "en-us", 165)
    return pulse.play_into_mic(resample(clip, SR, PULSE_RATE), PULSE_RATE)


def test_practice_through_pulseaudio(pulse_server, tmp_path):
    pulse = pulse_server
    recording = tmp_path / "speakers.f32"
    recorder = pulse.record_speakers(recording)
    recorder_started = time.monotonic()
    sessions = tmp_path / "sessions"
    env = dict(pulse.env(), VOICE_INTERVIEWER_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen([sys.executable, "-m", "voice_interviewer", "practice", "--input", "pulse",
                             "--output", "pulse", "--sessions-dir", str(sessions), "--seed", "1",
                             "--mode", "exam", "--max-minutes", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    s = Session(sessions, proc)
    try:
        briefing = s.wait_for(kind("interviewer_started", intent="briefing"), 180, "the briefing")
        session_t0_wall = time.monotonic() - briefing["t_s"]  # roughly: the loop logs it within a frame
        s.wait_for(kind("interviewer_stopped", intent="briefing"), 60, "the end of the briefing")
        time.sleep(1.0)
        speak(pulse, "Which endpoints are failing, and in which regions?").wait(timeout=30)
        answer = s.wait_for(kind("interviewer_started", intent="answer"), 30, "an answer")
        time.sleep(3.0)
        speak(pulse, "Sorry, wait. Is the auth database full?").wait(timeout=30)
        cut = s.wait_for(kind("interviewer_cut_off"), 20, "the barge-in")
        s.wait_for(lambda e: e["kind"] == "interviewer_stopped" and e["t_s"] > cut["t_s"], 40,
                   "the reply to the barge-in")
        time.sleep(1.0)
        monologue = speak(pulse, MONOLOGUE)
        interruption = s.wait_for(kind("interruption"), 90, "the interviewer cutting into the monologue")
        monologue.terminate()  # the candidate stops talking when cut off
        s.wait_for(lambda e: e["kind"] == "interviewer_stopped" and e["t_s"] > interruption["t_s"], 40,
                   "the complication line")
        time.sleep(1.0)
        speak(pulse, "Okay. I will roll back the auth service to the previous version now.").wait(timeout=30)
        s.wait_for(lambda e: e["kind"] == "transcript_final" and "roll" in e.get("text", "").lower(), 30,
                   "the mitigation")
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        pulse.stop_recording(recorder)

    assert proc.returncode == 130, stderr[-2000:]  # Ctrl-C: a clean end, reported as interrupted
    assert "Traceback" not in stderr
    events = s.events()
    speakers = resample(read_raw(recording), PULSE_RATE, SR)
    # Session time 0 in the recording: the wall-clock guess, refined by aligning
    # what the loop says it played (interviewer.wav, on the session clock) with
    # what the speakers' monitor recorded; PulseAudio's output latency under
    # load (up to ~1 s here) would otherwise shift every window below.
    offset_s = aligned_offset_s(s.folder / "interviewer.wav", speakers, session_t0_wall - recorder_started)

    def played(start_s, end_s):
        return speakers[max(0, int((start_s + offset_s) * SR)):max(0, int((end_s + offset_s) * SR))]

    from practice_harness import transcriber

    t0 = next(e["t_s"] for e in events if e["kind"] == "briefing_ended")
    briefing_heard = " ".join(u.text for u in transcriber().transcribe(played(-1.0, t0 + 1.0))).lower()
    assert "dashboards" in briefing_heard, briefing_heard

    assert "login" in answer["text"]
    answer_heard = " ".join(u.text for u in transcriber().transcribe(played(answer["t_s"], cut["t_s"] + 1.0)))
    assert "log" in answer_heard.lower(), answer_heard

    # Barge-in: the answer stopped; what was heard is a strict prefix of the line.
    assert cut["text"].startswith(cut["heard_text"]) and 0 < len(cut["heard_text"]) < len(cut["text"])
    # Quiet from just after the cut until the interviewer's next line starts
    # (its reply to the barge-in may begin within the second).
    next_line_s = min((e["t_s"] for e in events if e["kind"] == "interviewer_started" and e["t_s"] > cut["t_s"]),
                      default=cut["t_s"] + 1.0)
    quiet_until_s = min(cut["t_s"] + 1.0, next_line_s - 0.1)
    assert quiet_until_s - cut["t_s"] >= 0.4, (cut, next_line_s)
    after_cut = played(cut["t_s"] + 0.3, quiet_until_s)
    assert np.sqrt(np.mean(after_cut ** 2)) < 1e-3, "the speakers went quiet after the barge-in"

    line = next(e for e in events if e["kind"] == "interviewer_started" and e.get("intent") == "complication")
    assert line.get("cut_in") in ("pause", "mid_sentence")

    report = json.loads((s.folder / "report.json").read_text())
    assert report["mitigation"]["kind"] == "rollback"
    replayed = replay_path(s.folder, write=False, history=False)
    assert replayed["mitigation"]["latency_s"] == pytest.approx(report["mitigation"]["latency_s"], abs=0.5)


def test_no_such_input_device_is_one_line(pulse_server, tmp_path):
    env = dict(pulse_server.env(), VOICE_INTERVIEWER_HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "voice_interviewer", "practice", "--input", "no-such-mic-xyz",
                           "--sessions-dir", str(tmp_path / "s")], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-mic-xyz" in lines[0], proc.stderr
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").iterdir())


def aligned_offset_s(interviewer_wav, speakers_16k, guess_s: float, search_s: float = 2.0) -> float:
    """Where session time 0 falls in the speakers recording, by cross-correlation near ``guess_s``."""
    from scipy.signal import correlate

    from voice_interviewer.session import read_wav_tolerant

    played, rate = read_wav_tolerant(interviewer_wav)
    assert rate == SR
    played = played[: 40 * SR]  # the briefing and the first answer carry plenty of structure
    lo = max(0, int((guess_s - search_s) * SR))
    window = speakers_16k[lo: lo + played.size + int(2 * search_s * SR)]
    if window.size < played.size or not np.any(played):
        return guess_s
    scores = correlate(window, played, mode="valid", method="fft")
    return (lo + int(np.argmax(scores))) / SR
