"""report.json and report.md: the scored feedback for one rehearsal.

:func:`build_report` assembles report.json (format_version 1, documented in
docs/ARCHITECTURE.md) from the labelled utterances, the event log and the
scenario; :func:`write_reports` writes it with a readable report.md beside it
(and report.html when ``report_html`` is installed); :func:`summary_text` is
the few lines ``replay`` prints.

The mitigation clock runs from t0 to the *first word* of the first concrete
mitigation (``Utterance.onset_s``, which onset.py has already checked against
the audio; Whisper's own onset is kept as ``whisper_onset_s``).
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any, Iterable

from voice_interviewer import __version__
from voice_interviewer import events as ev
from voice_interviewer import labels as lab
from voice_interviewer.analysis import first_of, label_utterances
from voice_interviewer.paths import open_private, writable_dir
from voice_interviewer.rubric import DIMENSIONS, MAX_SCORE, score_session
from voice_interviewer.utterances import CANDIDATE, Utterance

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
REPORT_FILE_MODE = 0o600
# The clocks besides the mitigation one, as report.json names them.
CLOCKS = {
    "blast_radius": (lab.BLAST_RADIUS, "first blast-radius question"),
    "change_check": (lab.CHANGE_CHECK, "first change/deploy check"),
    "communication": (lab.COMMUNICATION, "first status update"),
}
DIMENSION_TITLES = {
    "bias_to_action": "Bias to action",
    "signal_usage": "Signal usage",
    "diagnostic_precision": "Diagnostic precision",
    "reversible_mitigation": "Reversible mitigation",
    "blameless_postmortem": "Blameless postmortem",
}
VERDICT_WORDS = {"in_time": "in time", "late": "late", "none": "no concrete mitigation"}


def build_report(utterances: Iterable[Utterance], events: Iterable[Any], scenario, t0_s: float,
                 source: dict[str, Any] | str | os.PathLike, duration_s: float, seed: int = 0,
                 interviewer: Iterable[Any] | None = None, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """report.json's contents for one session (format in docs/ARCHITECTURE.md)."""
    utts = sorted(utterances, key=lambda u: u.start_s)
    events = list(events)
    candidate = [u for u in utts if u.speaker == CANDIDATE]
    if candidate and not any(u.labels or u.concrete_mitigation for u in candidate):
        label_utterances(candidate, scenario)

    first = first_of(candidate, lab.CONCRETE_MITIGATION, t0_s)
    mark_s = float(scenario.mitigation_mark_s)
    report = {
        "format_version": FORMAT_VERSION,
        "source": _source(source),
        "scenario": {"id": scenario.id, "title": scenario.title},
        "seed": int(seed),
        "t0_s": round(float(t0_s), 3),
        "duration_s": round(float(duration_s), 3),
        "mark_s": mark_s,
        "mitigation": _mitigation(first, t0_s),
        "two_minute_verdict": verdict(first, t0_s, mark_s),
        "clocks": {name: _clock(first_of(candidate, label, t0_s), t0_s) for name, (label, _) in CLOCKS.items()},
        "rubric": score_session(utts, events, scenario, t0_s),
        "utterances": [u.to_json() for u in utts],
        "interviewer": [_to_json(a) for a in (interviewer or [])],
        "events": [_to_json(e) for e in events],
        "delivery": _delivery(utts, events, duration_s),
        "meta": _meta(meta),
    }
    latency = report["mitigation"]["latency_s"]
    logger.info("report: mitigation %s, verdict %s, rubric %d/%d",
                "none" if latency is None else f"{latency:.1f} s", report["two_minute_verdict"],
                total_score(report), MAX_SCORE * len(DIMENSIONS))
    return report


def verdict(first: Utterance | None, t0_s: float, mark_s: float) -> str:
    if first is None:
        return "none"
    return "in_time" if first.onset_s - t0_s <= mark_s else "late"


def total_score(report: dict[str, Any]) -> int:
    return sum(int(report["rubric"][d]["score"]) for d in DIMENSIONS if d in report.get("rubric", {}))


def _source(source: dict[str, Any] | str | os.PathLike) -> dict[str, Any]:
    if isinstance(source, dict):
        path = str(source.get("path", ""))
        return {"path": path, "kind": source.get("kind") or _source_kind(Path(path)),
                "name": source.get("name") or Path(path).stem}
    path = Path(source)
    return {"path": str(path), "kind": _source_kind(path), "name": path.stem if path.suffix else path.name}


def _source_kind(path: Path) -> str:
    if path.is_dir():
        return "session"
    if path.suffix.lower() in (".vtt", ".srt"):
        return "transcript"
    return "audio"


def _mitigation(first: Utterance | None, t0_s: float) -> dict[str, Any]:
    if first is None:
        return {"latency_s": None, "onset_s": None, "whisper_onset_s": None, "quote": None, "kind": None}
    whisper_onset_s = getattr(first, "whisper_onset_s", None)
    return {
        "latency_s": round(max(0.0, first.onset_s - t0_s), 3),
        "onset_s": round(first.onset_s, 3),
        "whisper_onset_s": round(whisper_onset_s if whisper_onset_s is not None else first.onset_s, 3),
        "quote": first.text.strip(),
        "kind": first.mitigation_kind,
    }


def _clock(u: Utterance | None, t0_s: float) -> dict[str, Any] | None:
    if u is None:
        return None
    return {"latency_s": round(max(0.0, u.onset_s - t0_s), 3), "onset_s": round(u.onset_s, 3), "quote": u.text.strip()}


def _to_json(item: Any) -> dict[str, Any]:
    return item.to_json() if hasattr(item, "to_json") else dict(item)


def _delivery(utts: list[Utterance], events: list[Any], duration_s: float) -> dict[str, Any]:
    from voice_interviewer.delivery import delivery_metrics

    return delivery_metrics(utts, [e if isinstance(e, ev.Event) else ev.Event.from_json(e) for e in events], duration_s)


def _meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"voice_interviewer": __version__, "models": {}}
    for key, value in (meta or {}).items():
        if key == "models" and isinstance(value, dict):
            out["models"].update(value)
        else:
            out[key] = value
    return out


# ---------------------------------------------------------------- writing


def write_reports(report: dict[str, Any], out_dir: str | os.PathLike,
                  audio_path: str | os.PathLike | None = None) -> list[Path]:
    """Write report.json and report.md (and report.html if available) to ``out_dir``, files 0600.

    ``audio_path`` is handed to report_html for its playback links.
    """
    report_json = report_json_text(report)  # before any file: a NaN must not leave half a report behind
    folder = writable_dir(Path(out_dir))
    written = [
        _write_private(folder / REPORT_JSON, report_json),
        _write_private(folder / REPORT_MD, markdown(report)),
    ]
    try:
        from voice_interviewer.report_html import write_html
    except ImportError:
        logger.debug("report_html not available; wrote json and md only")
    else:
        written.append(Path(write_html(report, folder, audio_path=Path(audio_path) if audio_path else None)))
    logger.info("wrote %s", ", ".join(str(p) for p in written))
    return written


def report_json_text(report: dict[str, Any]) -> str:
    """report.json's text; a NaN or infinity anywhere is a bug, raised here, never written.

    ``json.dumps`` would write ``NaN`` by default, which is not JSON: other
    tools (and browsers) then fail to read the report.
    """
    try:
        return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError:
        where = _non_finite_path(report) or "(somewhere)"
        raise ValueError(f"report.json would hold a non-finite number at {where}; nothing written") from None


def _non_finite_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first NaN or infinity in ``value``, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path or '(top level)'} = {value}"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, item in items:
        found = _non_finite_path(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}".lstrip("."))
        if found:
            return found
    return None


def _write_private(path: Path, text: str) -> Path:
    with open_private(path) as f:  # 0600, an existing file included
        f.write(text)
    return path


def mmss(t_s: float | None) -> str:
    if t_s is None:
        return "-"
    total = max(0, int(round(t_s)))
    return f"{total // 60:02d}:{total % 60:02d}"


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown(report: dict[str, Any]) -> str:
    """report.md: summary, verdict, clocks, rubric with evidence, delivery, transcript."""
    lines = [f"# Incident rehearsal: {report['scenario']['title']}", ""]
    src = report["source"]
    lines += [f"Source: `{src['name']}` ({src['kind']}) · scenario `{report['scenario']['id']}` · seed {report['seed']} · "
              f"length {mmss(report['duration_s'])} · clock starts (t0) at {mmss(report['t0_s'])}", ""]
    lines += ["## Summary", ""] + [f"- {line}" for line in _summary_lines(report)] + [""]
    lines += _clock_table(report) + [""]
    lines += _rubric_table(report) + [""]
    lines += _judge_table(report.get("llm_judge"))
    lines += _delivery_lines(report.get("delivery") or {})
    lines += _transcript(report)
    return "\n".join(lines).rstrip() + "\n"


def _summary_lines(report: dict[str, Any]) -> list[str]:
    m, mark_s = report["mitigation"], report["mark_s"]
    if m["latency_s"] is None:
        first = f"No concrete mitigation: nothing with an action and a target was committed to (mark {mark_s:.0f} s)."
    else:
        first = (f"First concrete mitigation **{m['latency_s']:.1f} s** after t0 (at {mmss(m['onset_s'])}), "
                 f"{m['kind']}: \"{_cell(m['quote'])}\"")
    verdict_word = VERDICT_WORDS[report["two_minute_verdict"]]
    total = total_score(report)
    return [first, f"Two-minute verdict: **{verdict_word}** (mark {mark_s:.0f} s)",
            f"Rubric: **{total}/{MAX_SCORE * len(DIMENSIONS)}**"]


def _clock_table(report: dict[str, Any]) -> list[str]:
    rows = ["## Clocks", "", "| clock | after t0 | at | quote |", "|---|---|---|---|"]
    m = report["mitigation"]
    rows.append(_clock_row("first concrete mitigation", m if m["latency_s"] is not None else None))
    for name, (_, title) in CLOCKS.items():
        rows.append(_clock_row(title, report["clocks"].get(name)))
    return rows


def _clock_row(title: str, clock: dict[str, Any] | None) -> str:
    if clock is None:
        return f"| {title} | never | - | - |"
    return f"| {title} | {clock['latency_s']:.1f} s | {mmss(clock['onset_s'])} | {_cell(clock['quote'])} |"


def _rubric_table(report: dict[str, Any]) -> list[str]:
    rows = ["## Rubric", "", "| dimension | score | evidence | what would raise it |", "|---|---|---|---|"]
    for name in DIMENSIONS:
        entry = report["rubric"].get(name)
        if entry is None:
            continue
        evidence = "<br>".join(f"{mmss(e['t_s'])} \"{_cell(e['quote'])}\" ({_cell(e['note'])})" for e in entry["evidence"]) or "-"
        rows.append(f"| {DIMENSION_TITLES[name]} | {entry['score']}/{MAX_SCORE} | {evidence} | {_cell(entry['to_raise'])} |")
    return rows


def _judge_table(judge: dict[str, Any] | None) -> list[str]:
    """The LLM judge's proposals, shown beside (never instead of) the rubric."""
    if not judge:
        return []
    rows = ["## LLM judge (proposed, not used in the scores above)", "",
            f"Model `{_cell(judge.get('model') or '?')}`, status {judge.get('status', '?')}"
            + (f": {_cell(judge['reason'])}" if judge.get("reason") else ""), ""]
    scores = judge.get("scores") or {}
    if scores:
        rows += ["| dimension | proposed | quote | why |", "|---|---|---|---|"]
        for name in DIMENSIONS:
            entry = scores.get(name)
            if entry:
                found = "" if entry.get("quote_found", True) else " (not in the transcript)"
                rows.append(f"| {DIMENSION_TITLES[name]} | {entry.get('score', '-')}/{MAX_SCORE} | "
                            f"{_cell(entry.get('quote') or '-')}{found} | {_cell(entry.get('why') or '-')} |")
    return rows + [""]


def _delivery_lines(delivery: dict[str, Any]) -> list[str]:
    if not delivery:
        return []
    shown = [("words per minute", delivery.get("words_per_minute")),
             ("fillers per minute", delivery.get("fillers_per_minute")),
             ("hedges in mitigation proposals", delivery.get("hedge_count")),
             ("longest silence (s)", delivery.get("longest_silence_s")),
             ("share of the talking", delivery.get("candidate_share"))]
    lines = ["## Delivery", ""] + [f"- {label}: {value}" for label, value in shown if value is not None]
    return lines + [""]


def _transcript(report: dict[str, Any]) -> list[str]:
    rows = ["## Transcript", "", "| at | who | text | labels |", "|---|---|---|---|"]
    for u in report["utterances"]:
        labels = list(u.get("labels") or [])
        if u.get("mitigation_kind") and u.get("concrete_mitigation"):
            labels = [f"{x} ({u['mitigation_kind']})" if x == lab.CONCRETE_MITIGATION else x for x in labels]
        elif u.get("mitigation_kind"):
            labels.append(f"proposed {u['mitigation_kind']}, not concrete")
        rows.append(f"| {mmss(u.get('start'))} | {u.get('speaker', CANDIDATE)} | {_cell(u.get('text', ''))} | "
                    f"{_cell(', '.join(labels)) or '-'} |")
    return rows


def summary_text(report: dict[str, Any]) -> str:
    """The short human summary ``replay`` prints."""
    m, mark_s = report["mitigation"], report["mark_s"]
    src = report["source"]
    lines = [f"{report['scenario']['id']} · {src['name']} ({src['kind']})"]
    verdict_word = VERDICT_WORDS[report["two_minute_verdict"]]
    if m["latency_s"] is None:
        lines.append(f"First concrete mitigation: none ({verdict_word}; mark {mark_s:.0f} s)")
    else:
        lines.append(f"First concrete mitigation: {m['latency_s']:.1f} s after t0 at {mmss(m['onset_s'])} "
                     f"- {verdict_word} (mark {mark_s:.0f} s)")
        lines.append(f"  \"{' '.join(m['quote'].split())}\" [{m['kind']}]")
    clocks = [f"{title.replace('first ', '')} {c['latency_s']:.1f} s" if c else f"{title.replace('first ', '')} never"
              for name, (_, title) in CLOCKS.items() for c in [report["clocks"].get(name)]]
    lines.append("Clocks: " + " · ".join(clocks))
    scores = " · ".join(f"{DIMENSION_TITLES[d].lower()} {report['rubric'][d]['score']}" for d in DIMENSIONS if d in report["rubric"])
    lines.append(f"Rubric {total_score(report)}/{MAX_SCORE * len(DIMENSIONS)}: {scores}")
    return "\n".join(lines)
