"""Hand-built reports in the report.json shape (docs/ARCHITECTURE.md), with real rendered audio.

Used by the HTML, history and compare tests so they do not depend on the
whole replay pipeline. The candidate's lines are spoken by the bundled Piper
voice into candidate.wav at the times the utterances claim.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import numpy as np

from voice_interviewer.delivery import delivery_metrics

SAMPLE_RATE = 16_000

# (start_s, text, labels, mitigation_kind) for the candidate; the briefing ends at 20 s.
CANDIDATE_LINES = [
    (22.0, "Um, okay. Which endpoints are failing, and is it all regions?", ["blast_radius"], None),
    (34.0, "What changed in the last hour? Any deploys?", ["change_check"], None),
    (52.0, "Let me check the auth database connections.", ["signal_check"], None),
    (70.0, "I think we should roll back auth service v2.3.1 right now.", ["concrete_mitigation"], "rollback"),
    (88.0, "I'll post a status update in the incident channel.", ["communication"], None),
    (130.0, "For the postmortem: timeline, impact, and the connection pool as root cause.", ["postmortem"], None),
]
INTERVIEWER_LINES = [
    (0.0, "briefing", "It's 2am and you're the on-call engineer. The core API is returning 500s.", [], None),
    (27.0, "answer", "Login, checkout and account pages, in both regions.", ["blast-radius"], None),
    (40.0, "answer", "Auth service v2.3.1 went out at 1:40 am.", ["deploys"], None),
    (60.0, "complication", "The error rate just climbed to 30%.", [], "errors-climb"),
    (78.0, "acknowledge", "The rollback is done; errors are falling.", [], None),
]


@functools.lru_cache(maxsize=1)
def _voice():
    from piper import PiperVoice

    from voice_interviewer.models import piper_voice_paths

    model, config = piper_voice_paths(None)
    return PiperVoice.load(str(model), config_path=str(config))


@functools.lru_cache(maxsize=64)
def speak_16k(text: str) -> np.ndarray:
    """``text`` in the bundled voice, float32 at 16 kHz."""
    voice = _voice()
    audio = np.concatenate([c.audio_float_array for c in voice.synthesize(text)])
    rate = voice.config.sample_rate
    n_out = int(len(audio) * SAMPLE_RATE / rate)
    return np.interp(np.arange(n_out) * rate / SAMPLE_RATE, np.arange(len(audio)), audio).astype(np.float32)


def sample_report(
    *,
    mitigation_at_s: float = 70.0,
    scores: dict[str, int] | None = None,
    name: str = "attempt-1",
    seed: int = 0,
    path: str = "/tmp/attempt-1",
    kind: str = "session",
) -> dict[str, Any]:
    """A report of one attempt; ``mitigation_at_s`` moves the rollback line and its clock."""
    t0_s, mark_s = 20.0, 120.0
    utterances = []
    for start_s, text, labels, mit_kind in CANDIDATE_LINES:
        if mit_kind:
            start_s = mitigation_at_s
        end_s = start_s + 0.36 * len(text.split())
        words, t = [], start_s
        for w in text.split():
            words.append({"start": round(t, 3), "end": round(t + 0.3, 3), "word": " " + w})
            t += 0.36
        utterances.append({
            "start": start_s, "end": round(end_s, 3), "speaker": "candidate", "text": text, "words": words,
            "labels": labels, "mitigation_kind": mit_kind, "concrete_mitigation": mit_kind is not None,
        })
    utterances.sort(key=lambda u: u["start"])
    interviewer = [
        {"t_s": t, "intent": intent, "text": text, "fact_ids": facts, "complication_id": comp,
         "mitigation_id": None, "interrupt": intent == "complication"}
        for t, intent, text, facts, comp in INTERVIEWER_LINES
    ]
    events = [{"t_s": 0.0, "kind": "session_started"}, {"t_s": t0_s, "kind": "briefing_ended"}]
    for a in interviewer:
        for fact in a["fact_ids"]:
            events.append({"t_s": a["t_s"], "kind": "fact_revealed", "fact_id": fact})
        if a["complication_id"]:
            events.append({"t_s": a["t_s"], "kind": "complication", "complication_id": a["complication_id"]})
            events.append({"t_s": a["t_s"], "kind": "interruption"})
    events.append({"t_s": mitigation_at_s, "kind": "mitigation", "mitigation_kind": "rollback"})
    events.sort(key=lambda e: e["t_s"])

    scores = {"bias_to_action": 3, "signal_usage": 2, "diagnostic_precision": 3,
              "reversible_mitigation": 4, "blameless_postmortem": 1, **(scores or {})}
    mitigation_quote = next(u["text"] for u in utterances if u["concrete_mitigation"])
    rubric = {
        key: {
            "score": score,
            "evidence": [{"t_s": mitigation_at_s if key in ("bias_to_action", "reversible_mitigation") else 52.0,
                          "quote": mitigation_quote if key in ("bias_to_action", "reversible_mitigation")
                          else "Let me check the auth database connections.",
                          "note": f"evidence for {key}"}],
            "to_raise": f"what would raise {key}",
        }
        for key, score in scores.items()
    }
    latency_s = mitigation_at_s - t0_s
    duration_s = 150.0
    return {
        "format_version": 1,
        "source": {"path": path, "kind": kind, "name": name},
        "scenario": {"id": "core-api-500s", "title": "Core API returning 500s on 12% of traffic"},
        "seed": seed,
        "t0_s": t0_s,
        "duration_s": duration_s,
        "mark_s": mark_s,
        "mitigation": {"latency_s": latency_s, "onset_s": mitigation_at_s, "whisper_onset_s": mitigation_at_s,
                       "quote": mitigation_quote, "kind": "rollback"},
        "two_minute_verdict": "in_time" if latency_s <= mark_s else "late",
        "clocks": {
            "blast_radius": {"latency_s": 2.0, "onset_s": 22.0, "quote": CANDIDATE_LINES[0][1]},
            "change_check": {"latency_s": 14.0, "onset_s": 34.0, "quote": CANDIDATE_LINES[1][1]},
            "communication": {"latency_s": 68.0, "onset_s": 88.0, "quote": CANDIDATE_LINES[4][1]},
        },
        "rubric": rubric,
        "utterances": utterances,
        "interviewer": interviewer,
        "events": events,
        "delivery": delivery_metrics(utterances, events, duration_s),
        "meta": {"models": {"whisper": "tiny.en (bundled)"}, "voice_interviewer": "0.1.0"},
    }


def write_candidate_wav(report: dict[str, Any], path: Path) -> Path:
    """Speak each candidate utterance at its start time into a 16 kHz mono WAV."""
    import soundfile as sf

    total = np.zeros(int(report["duration_s"] * SAMPLE_RATE) + SAMPLE_RATE, dtype=np.float32)
    for u in report["utterances"]:
        clip = speak_16k(u["text"])
        at = int(u["start"] * SAMPLE_RATE)
        total[at: at + len(clip)] += clip[: len(total) - at]
    sf.write(path, total, SAMPLE_RATE, subtype="PCM_16")
    return path


def variant(report: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(report)
    out.update(changes)
    return out
