"""report.html: the session as a page a candidate can look at and listen to.

One self-contained file beside report.json and report.md: inline CSS, charts
as inline SVG drawn by matplotlib, a few lines of inline script, and no
network fetches, so it opens offline from a laptop. The only thing it points
at is the session's own recording, by a path relative to the report, so the
folder can be moved or zipped whole.

    write_html(report, out_dir, audio_path=None) -> out_dir/report.html

``report`` is the report.json dict (docs/ARCHITECTURE.md). The audio is, in
order: ``audio_path``; candidate.wav beside the report; the session folder's
candidate.wav; the recording that was replayed. Without any, the page works
and the transcript simply does not play.
"""

from __future__ import annotations

import io
import logging
import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from voice_interviewer import events as ev
from voice_interviewer.paths import open_private, private_dir
from voice_interviewer.utterances import CANDIDATE

logger = logging.getLogger(__name__)

REPORT_HTML = "report.html"
TEMPLATE = "report.html.j2"
CANDIDATE_WAV = "candidate.wav"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".webm")

RUBRIC_ORDER = (
    "bias_to_action",
    "signal_usage",
    "diagnostic_precision",
    "reversible_mitigation",
    "blameless_postmortem",
)
CLOCK_TITLES = {
    "blast_radius": "First blast-radius question",
    "change_check": "First deploy / change check",
    "communication": "First status update",
}
MAX_SCORE = 4

# Colours shared by the charts and the CSS, so the legend means the same in both.
COLOURS = {
    "candidate": "#3b6ea8",
    "mitigation": "#1f9d55",
    "interviewer": "#8a8f98",
    "fact": "#d08c00",
    "complication": "#c2410c",
    "interruption": "#9333ea",
    "mark": "#dc2626",
    "t0": "#374151",
}


@dataclass
class Moment:
    """One thing on the timeline, also listed under the chart for reading and for search."""

    t_s: float
    kind: str  # a COLOURS key
    text: str


def write_html(report: dict[str, Any], out_dir: Path | str, audio_path: Path | str | None = None) -> Path:
    """Render ``report`` to ``out_dir/report.html`` and return its path."""
    out_dir = private_dir(Path(out_dir))
    moments = collect_moments(report)
    heard = interviewer_was_heard(report)
    context = {
        "interviewer_heard": heard,
        "report": report,
        "title": (report.get("scenario") or {}).get("title") or (report.get("scenario") or {}).get("id", ""),
        "audio_src": audio_src(report, out_dir, audio_path),
        "timeline_svg": timeline_svg(report, moments, heard),
        "rubric_svg": rubric_svg(report),
        "moments": moments,
        "rubric": rubric_rows(report),
        "clocks": clock_rows(report),
        "lines": transcript_lines(report),
        "delivery": report.get("delivery") or {},
        "colours": COLOURS,
        "max_score": MAX_SCORE,
    }
    html = _environment().get_template(TEMPLATE).render(**context)

    path = out_dir / REPORT_HTML
    with open_private(path) as f:  # 0600 even when an older report.html was 0644
        f.write(html)
    logger.info("wrote %s (%d kB, %d transcript lines)", path, len(html) // 1024, len(context["lines"]))
    return path


def audio_src(report: dict[str, Any], out_dir: Path, audio_path: Path | str | None) -> str | None:
    """The recording as a URL relative to the report, or None when there is none."""
    candidates = []
    if audio_path is not None:
        candidates.append(Path(audio_path))
    candidates.append(out_dir / CANDIDATE_WAV)
    source = report.get("source") or {}
    if source.get("path"):
        src = Path(source["path"])
        candidates.append(src / CANDIDATE_WAV if source.get("kind") == "session" else src)
    for path in candidates:
        if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES:
            try:
                rel = os.path.relpath(path.resolve(), out_dir.resolve())
            except ValueError:  # another drive on Windows: no relative path exists
                return path.resolve().as_uri()
            return urllib.parse.quote(Path(rel).as_posix())
    if audio_path is not None:
        logger.warning("%s: no such recording; the report will not play audio", audio_path)
    return None


# --- what the page shows ------------------------------------------------------------------------


def mmss(t_s: float | None) -> str:
    if t_s is None:
        return "—"
    t_s = max(0.0, float(t_s))
    minutes, seconds = divmod(t_s, 60.0)
    return f"{int(minutes):02d}:{seconds:04.1f}"


def collect_moments(report: dict[str, Any]) -> list[Moment]:
    """Revealed facts, complications, interruptions, t0, the first mitigation and the mark, in time order."""
    moments = []
    t0_s = float(report.get("t0_s") or 0.0)
    moments.append(Moment(t0_s, "t0", "Mitigation clock starts (end of the briefing)"))
    mark_s = report.get("mark_s")
    if mark_s is not None:
        moments.append(Moment(t0_s + float(mark_s), "mark", f"The {_mark_name(float(mark_s))} mark"))
    mitigation = report.get("mitigation") or {}
    if mitigation.get("onset_s") is not None:
        kind = (mitigation.get("kind") or "mitigation").replace("_", " ")
        moments.append(Moment(float(mitigation["onset_s"]), "mitigation",
                              f"First concrete mitigation ({kind}): “{mitigation.get('quote') or ''}”"))
    for e in report.get("events") or []:
        kind = e.get("kind")
        if kind == ev.FACT_REVEALED:
            moments.append(Moment(float(e["t_s"]), "fact", f"Fact revealed: {_event_label(e, 'fact_id')}"))
        elif kind == ev.COMPLICATION:
            moments.append(Moment(float(e["t_s"]), "complication",
                                  f"Complication: {_event_label(e, 'complication_id')}"))
        elif kind in (ev.INTERRUPTION, ev.INTERVIEWER_CUT_OFF):
            what = "Interviewer cut in" if kind == ev.INTERRUPTION else "Candidate cut the interviewer off"
            moments.append(Moment(float(e["t_s"]), "interruption", what))
    return sorted(moments, key=lambda m: m.t_s)


def rubric_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    rubric = report.get("rubric") or {}
    rows = []
    for key in list(RUBRIC_ORDER) + sorted(set(rubric) - set(RUBRIC_ORDER)):
        if key not in rubric:
            continue
        item = rubric[key] or {}
        rows.append({
            "key": key,
            "name": key.replace("_", " ").capitalize(),
            "score": item.get("score"),
            "evidence": item.get("evidence") or [],
            "to_raise": item.get("to_raise") or "",
        })
    return rows


def clock_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    mitigation = report.get("mitigation") or {}
    rows = [{
        "key": "mitigation",
        "name": "First concrete mitigation",
        "latency_s": mitigation.get("latency_s"),
        "onset_s": mitigation.get("onset_s"),
        "quote": mitigation.get("quote"),
        "verdict": report.get("two_minute_verdict"),
    }]
    clocks = report.get("clocks") or {}
    for key, name in CLOCK_TITLES.items():
        clock = clocks.get(key) or {}
        rows.append({"key": key, "name": name, "latency_s": clock.get("latency_s"),
                     "onset_s": clock.get("onset_s"), "quote": clock.get("quote"), "verdict": None})
    return rows


def transcript_lines(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Candidate utterances and the interviewer's lines, in time order, each with where to play from."""
    lines = []
    for i, u in enumerate(report.get("utterances") or []):
        words = u.get("words") or []
        start_s = float(words[0]["start"]) if words else float(u["start"])
        labels = list(u.get("labels") or [])
        if u.get("mitigation_kind") and u["mitigation_kind"] not in labels:
            labels.append(u["mitigation_kind"])
        lines.append({
            "utterance": True,
            "index": i,
            "start_s": round(start_s, 3),
            "speaker": u.get("speaker", CANDIDATE),
            "text": u.get("text", "").strip(),
            "labels": [label.replace("_", " ") for label in labels],
            "concrete": bool(u.get("concrete_mitigation")),
        })
    # A session's report may carry the interviewer both as utterances and as actions: show each line once.
    spoken = {(round(line["start_s"], 1), line["text"]) for line in lines if line["speaker"] != CANDIDATE}
    for a in report.get("interviewer") or []:
        intent = a.get("intent") or ""
        if (round(float(a.get("t_s") or 0.0), 1), (a.get("text") or "").strip()) in spoken:
            continue
        lines.append({
            "utterance": False,
            "index": None,
            "start_s": round(float(a.get("t_s") or 0.0), 3),
            "speaker": "interviewer",
            "text": (a.get("text") or "").strip(),
            "labels": [intent.replace("_", " ")] + (["interrupts"] if a.get("interrupt") else []),
            "concrete": False,
        })
    return sorted(lines, key=lambda line: (line["start_s"], not line["utterance"]))


# --- charts -------------------------------------------------------------------------------------


def interviewer_was_heard(report: dict[str, Any]) -> bool:
    """True for a live session; False for a replayed recording, where the interviewer's lines are
    what the director would have said at those moments."""
    return any(u.get("speaker") == "interviewer" for u in report.get("utterances") or []) or any(
        e.get("kind") == ev.INTERVIEWER_STARTED for e in report.get("events") or [])


def timeline_svg(report: dict[str, Any], moments: list[Moment], interviewer_heard: bool = True) -> str:
    """Lanes for the candidate, the interviewer and the scenario's events, on the session clock."""
    plt = _pyplot()
    duration_s = max([float(report.get("duration_s") or 0.0)] + [m.t_s for m in moments] + [1.0])
    fig, ax = plt.subplots(figsize=(10, 2.6))
    lanes = {"events": 0, "interviewer": 1, "candidate": 2}

    for u in report.get("utterances") or []:
        words = u.get("words") or []
        start_s = float(words[0]["start"]) if words else float(u["start"])
        width_s = max(float(u["end"]) - start_s, 0.3)
        lane = "interviewer" if u.get("speaker") == "interviewer" else "candidate"
        colour = COLOURS["mitigation"] if u.get("concrete_mitigation") else COLOURS[lane]
        ax.broken_barh([(start_s, width_s)], (lanes[lane] - 0.3, 0.6), color=colour)
    for start_s, end_s in _interviewer_spans(report):
        ax.broken_barh([(start_s, max(end_s - start_s, 0.3))], (lanes["interviewer"] - 0.3, 0.6),
                       color=COLOURS["interviewer"])

    for m in moments:
        if m.kind in ("t0", "mark", "mitigation"):
            style = {"t0": ":", "mark": "--", "mitigation": "-"}[m.kind]
            ax.axvline(m.t_s, color=COLOURS[m.kind], linestyle=style, linewidth=1.6)
            label = {"t0": "t0", "mark": _mark_name(float(report.get("mark_s") or 0)),
                     "mitigation": "mitigation"}[m.kind]
            ax.text(m.t_s, 2.62, label, color=COLOURS[m.kind], fontsize=8, ha="center", va="bottom")
        else:
            marker = {"fact": "o", "complication": "D", "interruption": "v"}[m.kind]
            ax.plot([m.t_s], [lanes["events"]], marker=marker, color=COLOURS[m.kind], markersize=7,
                    linestyle="none")

    names = {"events": "Events", "interviewer": "Interviewer" if interviewer_heard else "Interviewer\n(would say)",
             "candidate": "Candidate"}
    ax.set_yticks(list(lanes.values()), [names[name] for name in lanes])
    ax.set_ylim(-0.6, 2.9)
    ax.set_xlim(0, duration_s * 1.02)
    ax.xaxis.set_major_formatter(_mmss_formatter())
    ax.set_xlabel("session clock (mm:ss)")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", color="#e5e7eb", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.tight_layout()
    return _svg(fig)


def rubric_svg(report: dict[str, Any]) -> str:
    plt = _pyplot()
    rows = rubric_rows(report)
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * max(len(rows), 1) + 0.7))
    names = [r["name"] for r in rows][::-1]
    scores = [float(r["score"] or 0) for r in rows][::-1]
    colours = [_score_colour(s) for s in scores]
    ax.barh(names, scores, color=colours, height=0.6)
    for y, s in enumerate(scores):
        ax.text(s + 0.05, y, f"{s:g}/{MAX_SCORE}", va="center", fontsize=9)
    ax.set_xlim(0, MAX_SCORE + 0.5)
    ax.set_xticks(range(MAX_SCORE + 1))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return _svg(fig)


def _score_colour(score: float) -> str:
    return "#1f9d55" if score >= 3 else "#d08c00" if score >= 2 else "#dc2626"


def _interviewer_spans(report: dict[str, Any]) -> list[tuple[float, float]]:
    spans, started_s = [], None
    for e in sorted(report.get("events") or [], key=lambda e: e.get("t_s", 0.0)):
        if e.get("kind") == ev.INTERVIEWER_STARTED and started_s is None:
            started_s = float(e["t_s"])
        elif e.get("kind") in (ev.INTERVIEWER_STOPPED, ev.INTERVIEWER_CUT_OFF) and started_s is not None:
            spans.append((started_s, float(e["t_s"])))
            started_s = None
    if not spans:
        # A replayed recording has no playback events: show the lines the interviewer would have said.
        for a in report.get("interviewer") or []:
            t_s = float(a.get("t_s") or 0.0)
            spans.append((t_s, t_s + _speech_estimate_s(a.get("text") or "")))
    return spans


def _speech_estimate_s(text: str) -> float:
    # Piper's joe voice speaks about 2.7 words per second at length_scale 1.
    return max(len(text.split()) / 2.7, 0.5)


def _event_label(e: dict[str, Any], key: str) -> str:
    value = e.get(key) or e.get("id") or e.get("text") or ""
    return str(value).replace("-", " ").replace("_", " ")


def _mark_name(mark_s: float) -> str:
    return "two-minute" if mark_s == 120 else f"{mark_s:g}-second"


def _mmss_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: f"{int(x // 60):02d}:{int(x % 60):02d}")


def _pyplot():
    import matplotlib

    # No display here, and none wanted: the charts only ever become SVG text.
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "svg.fonttype": "none",  # real <text>, so the page's font renders it and it can be searched
        "svg.hashsalt": "voice-interviewer",  # stable ids: the same report gives the same file
        "font.family": "sans-serif",
        "font.size": 9,
    })
    return plt


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    # Inline SVG needs neither the XML prolog nor the DOCTYPE; drop them so the page stays valid HTML.
    text = re.sub(r"^.*?(?=<svg)", "", text, flags=re.S)
    return text.replace('width="', 'class="chart" width="', 1)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("voice_interviewer", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["mmss"] = mmss
    env.filters["seconds"] = lambda v: "—" if v is None else f"{float(v):.1f} s"
    return env
