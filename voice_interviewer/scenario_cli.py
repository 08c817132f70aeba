"""`voice-interviewer scenarios [list|check FILE] [--json]`.

``list`` shows the built-in scenarios: id, title, severity, style and
length (facts, curveballs, time limit). ``check FILE`` validates a scenario
file a user wrote: one ``OK`` line and exit 0, or one line naming the file,
the field and the problem, and exit 2.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from voice_interviewer.errors import UserError
from voice_interviewer.scenario import Scenario, ScenarioError, builtin_ids, load_scenario, parse_scenario

logger = logging.getLogger(__name__)


def main(args: Any) -> int:
    if args.action == "check":
        return check(args.file, as_json=args.json)
    if args.file:
        raise UserError(f"`scenarios list` takes no file (did you mean `scenarios check {args.file}`?)", exit_code=2)
    return list_scenarios(as_json=args.json)


def summary(s: Scenario) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": s.title,
        "severity": s.severity,
        "style": s.style,
        "facts": len(s.facts),
        "mitigations": len(s.mitigations),
        "complications": len(s.complications),
        "time_limit_min": round(s.time_limit_s / 60.0, 1),
        "source": s.source,
    }


def list_scenarios(as_json: bool = False) -> int:
    rows = [summary(load_scenario(i)) for i in builtin_ids()]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    id_width = max(len(r["id"]) for r in rows)
    print(f"{'id':<{id_width}}  {'severity':<8}  {'style':<13}  {'length':<30}  title")
    for r in rows:
        length = f"{r['facts']} facts, {r['complications']} curveballs, ≤{r['time_limit_min']:g} min"
        print(f"{r['id']:<{id_width}}  {r['severity']:<8}  {r['style']:<13}  {length:<30}  {r['title']}")
    return 0


def check(file: str | None, as_json: bool = False) -> int:
    if not file:
        raise UserError("`scenarios check` needs a FILE (a .yaml scenario)", exit_code=2)
    path = Path(file)
    try:
        scenario = _parse_file(path)
    except ScenarioError as exc:
        if as_json:
            print(json.dumps({"ok": False, "file": exc.source, "field": exc.field_path, "problem": exc.problem}))
        raise
    if as_json:
        print(json.dumps({"ok": True, "file": str(path), **summary(scenario)}, ensure_ascii=False))
    else:
        s = summary(scenario)
        print(f"OK {path}: {s['id']} ({s['facts']} facts, {s['mitigations']} mitigations, "
              f"{s['complications']} curveballs)")
    return 0


def _parse_file(path: Path) -> Scenario:
    if not path.is_file():
        raise ScenarioError(str(path), "(file)", "not found" if not path.exists() else "not a file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(str(path), "(file)", f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ScenarioError(str(path), "(file)", f"cannot read ({exc.strerror})") from None
    return parse_scenario(text, source=str(path))
