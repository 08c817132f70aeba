"""An optional second opinion on the rubric from the session's LLM endpoint.

After a session, the same OpenAI-compatible backend the voice used reads the
transcript and proposes a 0-4 score with a supporting quote for each of the
five rubric dimensions. Its proposal goes into ``report["llm_judge"]``,
beside the deterministic ``report["rubric"]``, which it never changes:

    report["llm_judge"] = {
        "status": "ok" | "partial" | "failed",
        "model": str, "base_url": str,         # never the key
        "scores": {dimension: {"score": 0..4, "quote": str, "quote_found": bool, "why": str}},
        "missing": [dimension, ...],           # dimensions it gave no usable score for
        "reason": str,                         # only when status is "failed"
    }

``quote_found`` says whether the quote is really in the candidate's words:
small models paraphrase and invent. The reply is parsed leniently (code
fences, trailing commas, single quotes, prose around the JSON, or just
"bias_to_action: 3" lines), because the point is to take what a small model
gets right without trusting it further.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from typing import Any

from voice_interviewer.llm_config import NO_KEY_PLACEHOLDER, LLMSettings, redact, safe_url

logger = logging.getLogger(__name__)

DIMENSIONS = {
    "bias_to_action": "how soon the candidate spoke a concrete mitigation instead of only investigating",
    "signal_usage": "whether they used the dashboards, logs, deploy history and facts they were given",
    "diagnostic_precision": "whether their questions and hypotheses narrowed down the cause",
    "reversible_mitigation": "whether they chose safe, reversible mitigations (rollback, flag off) and checked them",
    "blameless_postmortem": "whether the postmortem covered timeline, impact, root cause, follow-ups, without blame",
}
MAX_TRANSCRIPT_CHARS = 6000
MAX_TOKENS = 400

_SYSTEM = """\
You review a practice incident-response interview. Score the candidate from 0 (absent) to 4 (excellent) \
on each dimension, and quote the candidate's own words as evidence.
Reply with JSON only, exactly in this shape:
{"bias_to_action": {"score": 0, "quote": "...", "why": "..."}, "signal_usage": {...}, \
"diagnostic_precision": {...}, "reversible_mitigation": {...}, "blameless_postmortem": {...}}"""


def judge_report(report: dict[str, Any], settings: LLMSettings, client: Any = None) -> dict[str, Any]:
    """Ask the endpoint for proposed scores and store them in ``report["llm_judge"]``.

    Never raises for a network or parsing problem: the result then has
    ``status: "failed"`` and a reason, and the report is otherwise untouched.
    """
    result = _base_result(settings)
    transcript = transcript_text(report)
    if not candidate_text(report).strip():
        result.update(status="failed", reason="no candidate speech to judge")
    else:
        try:
            reply = _ask(settings, client, transcript, report)
            result.update(parse_judgement(reply, candidate_text(report)))
        except Exception as exc:  # a judge is optional: its failure is one line, not the report's
            result.update(status="failed", reason=redact(_reason(exc)))
            logger.warning("llm judge at %s failed: %s", safe_url(settings.base_url), result["reason"])
    report["llm_judge"] = result
    if result["status"] != "failed":
        logger.info("llm judge proposed %d of %d scores", len(result["scores"]), len(DIMENSIONS))
    return result


def _base_result(settings: LLMSettings) -> dict[str, Any]:
    return {"status": "failed", "model": settings.model, "base_url": safe_url(settings.base_url),
            "scores": {}, "missing": list(DIMENSIONS)}


def transcript_text(report: dict[str, Any]) -> str:
    """The session as "Interviewer: ..." / "Candidate: ..." lines, time-ordered."""
    lines = []
    for u in report.get("utterances", []):
        speaker = "Interviewer" if str(u.get("speaker", "")).startswith("interviewer") else "Candidate"
        lines.append((float(u.get("start", u.get("start_s", 0.0)) or 0.0), speaker, str(u.get("text", ""))))
    for a in report.get("interviewer", []):
        lines.append((float(a.get("t_s", 0.0) or 0.0), "Interviewer", str(a.get("text", ""))))
    lines.sort(key=lambda item: item[0])
    text = "\n".join(f"[{t:5.0f}s] {who}: {' '.join(words.split())}" for t, who, words in lines if words.strip())
    return text[-MAX_TRANSCRIPT_CHARS:]


def candidate_text(report: dict[str, Any]) -> str:
    return " ".join(str(u.get("text", "")) for u in report.get("utterances", [])
                    if not str(u.get("speaker", "")).startswith("interviewer"))


def _ask(settings: LLMSettings, client: Any, transcript: str, report: dict[str, Any]) -> str:
    if client is None:
        import openai

        # Not a live turn: one retry is affordable, and a longer timeout.
        client = openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key or NO_KEY_PLACEHOLDER,
                               max_retries=1, timeout=settings.judge_timeout_s)
    dims = "\n".join(f"- {name}: {what}" for name, what in DIMENSIONS.items())
    title = report.get("scenario", {}).get("title", "an outage")
    user = f"Incident: {title}\n\nDimensions:\n{dims}\n\nTranscript:\n{transcript}\n\nJSON:"
    options = {"seed": settings.seed} if settings.seed is not None else {}
    response = client.chat.completions.create(
        model=settings.model, temperature=0.0, max_tokens=MAX_TOKENS,
        messages=[{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}], **options,
    )
    return response.choices[0].message.content or ""


def _reason(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    if status:
        return f"HTTP {status}"  # not the body: it may echo the key
    return type(exc).__name__


# ------------------------------------------------------------ lenient parsing


def parse_judgement(reply: str, candidate: str = "") -> dict[str, Any]:
    """Scores from a model's reply, however messy; see the module docstring."""
    data = _json_object(reply)
    scores: dict[str, dict[str, Any]] = {}
    for name in DIMENSIONS:
        entry = _entry(data, name) if data is not None else None
        if entry is None:
            entry = _entry_from_text(reply, name)
        if entry is not None:
            entry["quote_found"] = bool(entry["quote"]) and _normal(entry["quote"]) in _normal(candidate)
            scores[name] = entry
    missing = [name for name in DIMENSIONS if name not in scores]
    status = "ok" if not missing else "partial" if scores else "failed"
    result: dict[str, Any] = {"status": status, "scores": scores, "missing": missing}
    if status == "failed":
        result["reason"] = "no usable scores in the reply"
    return result


def _json_object(reply: str) -> dict[str, Any] | None:
    text = re.sub(r"```(?:json)?", "", reply)
    for candidate in _brace_spans(text):
        for attempt in (candidate, _repair(candidate)):
            try:
                value = json.loads(attempt)
            except ValueError:
                try:
                    value = ast.literal_eval(attempt)  # single quotes, True/False
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    continue
            if isinstance(value, dict):
                return {str(k).strip().lower().replace(" ", "_").replace("-", "_"): v for k, v in value.items()}
    return None


def _brace_spans(text: str) -> list[str]:
    """Balanced {...} spans, outermost first; an unclosed one is closed for it."""
    spans, depth, start = [], 0, None
    in_string, escaped = False, False
    for i, ch in enumerate(text):
        if in_string:
            escaped = ch == "\\" and not escaped
            if ch == '"' and not escaped:
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                spans.append(text[start:i + 1])
    if depth and start is not None:
        spans.append(text[start:] + "}" * depth)  # a reply cut off by max_tokens
    return sorted(spans, key=len, reverse=True)


def _repair(text: str) -> str:
    text = re.sub(r",\s*([}\]])", r"\1", text)  # trailing commas
    text = re.sub(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:", lambda m: m.group(1) + json.dumps(m.group(2)) + ":", text)
    return text.replace("“", '"').replace("”", '"')


def _entry(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = data.get(name)
    if isinstance(value, dict):
        score = _score(value.get("score"))
        if score is None:
            return None
        quote = value.get("quote") or value.get("evidence") or ""
        if isinstance(quote, list):
            quote = quote[0] if quote else ""
        return {"score": score, "quote": str(quote).strip(), "why": str(value.get("why") or value.get("reason") or "").strip()}
    score = _score(value)
    return None if score is None else {"score": score, "quote": "", "why": ""}


def _entry_from_text(reply: str, name: str) -> dict[str, Any] | None:
    pattern = name.replace("_", r"[ _-]?")
    match = re.search(rf"(?is){pattern}\W{{0,40}}?(?:score\W{{0,5}})?([0-4])(?:\s*/\s*4)?\b", reply)
    if not match:
        return None
    return {"score": int(match.group(1)), "quote": "", "why": ""}


def _score(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and 0 <= value <= 4:
        return int(round(value))
    if isinstance(value, str):
        match = re.match(r"\s*([0-4])(?:\.0)?\s*(?:/\s*4)?\s*$", value)
        return int(match.group(1)) if match else None
    return None


def _normal(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9%.:]+", text.lower()))
