"""Two attempts side by side: what got faster, which rubric moved, and the quote that moved it.

    voice-interviewer compare A B        A, B: session folder, report folder, report.json, or history id

A is the baseline, B the attempt compared with it: "faster" means B reached
the moment sooner after its briefing than A did. Works from the history
database alone (it keeps each attempt's clocks, scores and evidence), so an
old session folder need not still exist.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice_interviewer.errors import UserError
from voice_interviewer.rubric import DIMENSIONS

logger = logging.getLogger(__name__)

REPORT_JSON = "report.json"
RUBRIC_KEYS = DIMENSIONS  # the five rubric dimensions, in report order
CLOCKS = {
    "mitigation": "first concrete mitigation",
    "blast_radius": "first blast-radius question",
    "change_check": "first deploy / change check",
    "communication": "first status update",
}
# (key, title, True when lower is better)
DELIVERY = (
    ("words_per_minute", "words per minute", None),
    ("fillers_per_minute", "fillers per minute", True),
    ("hedge_count", "hedges on mitigations", True),
    ("longest_silence_s", "longest silence (s)", True),
    ("talk_ratio", "talk ratio", None),
)
# Below this the two clocks are the same for all a candidate can tell.
SAME_WITHIN_S = 1.0


@dataclass
class Attempt:
    label: str  # how the user named it: the path or "#12"
    report: dict[str, Any]


def main(args) -> int:
    a = load_attempt(args.a, args.db)
    b = load_attempt(args.b, args.db)
    result = compare_reports(a.report, b.report)
    result["a"] = {"label": a.label, **_identity(a.report)}
    result["b"] = {"label": b.label, **_identity(b.report)}
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print_comparison(result)
    return 0


def load_attempt(ref: str, db: str | None = None) -> Attempt:
    """A report from a history id, a folder holding report.json, or a report.json file."""
    if ref.lstrip("#").isdigit() and not Path(ref).exists():
        from voice_interviewer import history

        row = history.get_attempt(int(ref.lstrip("#")), Path(db).expanduser() if db else None)
        return Attempt(f"#{row['id']}", row["summary"])
    path = Path(ref).expanduser()
    if path.is_dir():
        path = path / REPORT_JSON
        if not path.is_file():
            raise UserError(f"{ref}: no {REPORT_JSON} there; score it first with `voice-interviewer replay {ref}`")
    if not path.is_file():
        raise UserError(f"{ref}: no such session folder, report.json or history id")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not a readable report.json ({exc})") from None
    if not isinstance(report, dict) or "rubric" not in report:
        raise UserError(f"{path}: not a voice-interviewer report (no rubric)")
    return Attempt(ref, report)


def compare_reports(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The comparison as data; ``print_comparison`` renders it."""
    if (a.get("scenario") or {}).get("id") != (b.get("scenario") or {}).get("id"):
        logger.warning("comparing attempts at different scenarios")
    return {
        "same_scenario": (a.get("scenario") or {}).get("id") == (b.get("scenario") or {}).get("id"),
        "clocks": [_clock_row(key, title, _clock(a, key), _clock(b, key)) for key, title in CLOCKS.items()],
        "verdict": {"a": a.get("two_minute_verdict"), "b": b.get("two_minute_verdict")},
        "rubric": [_rubric_row(key, (a.get("rubric") or {}).get(key) or {}, (b.get("rubric") or {}).get(key) or {})
                   for key in RUBRIC_KEYS],
        "delivery": [_delivery_row(key, title, lower, a.get("delivery") or {}, b.get("delivery") or {})
                     for key, title, lower in DELIVERY],
    }


def _identity(report: dict[str, Any]) -> dict[str, Any]:
    return {"scenario": (report.get("scenario") or {}).get("id"), "seed": report.get("seed"),
            "source": (report.get("source") or {}).get("name")}


def _clock(report: dict[str, Any], key: str) -> dict[str, Any]:
    if key == "mitigation":
        return report.get("mitigation") or {}
    return (report.get("clocks") or {}).get(key) or {}


def _clock_row(key: str, title: str, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    a_s, b_s = a.get("latency_s"), b.get("latency_s")
    if a_s is None and b_s is None:
        change = "neither"
    elif a_s is None:
        change = "only B"
    elif b_s is None:
        change = "only A"
    elif abs(b_s - a_s) < SAME_WITHIN_S:
        change = "same"
    else:
        change = "faster" if b_s < a_s else "slower"
    return {"clock": key, "title": title, "a_s": a_s, "b_s": b_s,
            "delta_s": None if a_s is None or b_s is None else round(b_s - a_s, 2),
            "change": change, "a_quote": a.get("quote"), "b_quote": b.get("quote")}


def _rubric_row(key: str, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    a_score, b_score = a.get("score"), b.get("score")
    delta = None if a_score is None or b_score is None else b_score - a_score
    row = {"dimension": key, "a": a_score, "b": b_score, "delta": delta, "quote": None, "quote_from": None}
    if delta:
        # The difference is in the evidence the higher-scoring attempt has and the other lacks.
        better, worse, side = (b, a, "b") if delta > 0 else (a, b, "a")
        seen = {_norm(e.get("quote", "")) for e in worse.get("evidence") or []}
        new = [e for e in better.get("evidence") or [] if _norm(e.get("quote", "")) not in seen]
        pick = (new or better.get("evidence") or [None])[0]
        if pick:
            row.update(quote=pick.get("quote"), quote_t_s=pick.get("t_s"), note=pick.get("note"), quote_from=side)
    return row


def _delivery_row(key: str, title: str, lower_is_better: bool | None,
                  a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    a_v, b_v = a.get(key), b.get(key)
    better = None
    if lower_is_better is not None and a_v is not None and b_v is not None and a_v != b_v:
        better = "b" if (b_v < a_v) == lower_is_better else "a"
    return {"metric": key, "title": title, "a": a_v, "b": b_v, "better": better}


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def print_comparison(result: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=False)
    a, b = result["a"], result["b"]
    console.print(f"A = {a['label']} ({a['source']}, seed {a['seed']})   B = {b['label']} ({b['source']}, seed {b['seed']})")
    if not result["same_scenario"]:
        console.print(f"[yellow]different scenarios: {a['scenario']} vs {b['scenario']}[/yellow]")

    clocks = Table(title="clocks (seconds after the briefing)", title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in (("clock", "left"), ("A", "right"), ("B", "right"), ("change", "left")):
        clocks.add_column(name, justify=justify, no_wrap=name != "clock")
    for row in result["clocks"]:
        clocks.add_row(row["title"], _s(row["a_s"]), _s(row["b_s"]), _change(row))
    console.print(clocks)
    verdict = result["verdict"]
    console.print(f"two-minute verdict: A {verdict['a']}, B {verdict['b']}")
    mitigation = result["clocks"][0]
    for side in ("a", "b"):
        if mitigation[f"{side}_quote"]:
            console.print(f"  {side.upper()}'s first mitigation: “{mitigation[f'{side}_quote']}”")

    rubric = Table(title="rubric (0–4)", title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in (("dimension", "left"), ("A", "right"), ("B", "right"), ("what made the difference", "left")):
        rubric.add_column(name, justify=justify, overflow="fold")
    for row in result["rubric"]:
        rubric.add_row(row["dimension"].replace("_", " "), _v(row["a"]), _v(row["b"]), _difference(row))
    console.print(rubric)

    delivery = Table(title="delivery", title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in (("metric", "left"), ("A", "right"), ("B", "right"), ("better", "left")):
        delivery.add_column(name, justify=justify)
    for row in result["delivery"]:
        delivery.add_row(row["title"], _v(row["a"]), _v(row["b"]), (row["better"] or "").upper())
    console.print(delivery)


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _v(value: Any) -> str:
    return "–" if value is None else str(value)


def _change(row: dict[str, Any]) -> str:
    if row["change"] == "faster":
        return f"[green]{-row['delta_s']:.1f} s faster[/green]"
    if row["change"] == "slower":
        return f"[red]{row['delta_s']:.1f} s slower[/red]"
    return {"only B": "[green]only B reached it[/green]", "only A": "[red]only A reached it[/red]"}.get(
        row["change"], row["change"])


def _difference(row: dict[str, Any]) -> str:
    if not row["delta"]:
        return ""
    arrow = f"[green]+{row['delta']}[/green]" if row["delta"] > 0 else f"[red]{row['delta']}[/red]"
    if not row["quote"]:
        return arrow
    when = row.get("quote_t_s")
    at = f" at {int(when // 60):02d}:{when % 60:04.1f}" if isinstance(when, (int, float)) else ""
    return f"{arrow} {row['quote_from'].upper()}{at}: “{row['quote']}”"
