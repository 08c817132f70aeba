"""What the director decides the interviewer does next; the voice decides how it is said."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Intents, one per kind of interviewer move.
BRIEFING = "briefing"
ANSWER = "answer"  # reveal one or more facts
PUSHBACK = "pushback"
COMPLICATION = "complication"
ACKNOWLEDGE = "acknowledge"  # a mitigation's outcome, or "go on"
POSTMORTEM_PROMPT = "postmortem_prompt"
CLOSING = "closing"

INTENTS = (BRIEFING, ANSWER, PUSHBACK, COMPLICATION, ACKNOWLEDGE, POSTMORTEM_PROMPT, CLOSING)


@dataclass
class Action:
    """One interviewer line the director wants said.

    ``text`` is the scripted line, always safe to speak: it is built only from
    the scenario. ``required`` lists the strings (numbers, names, versions) any
    rephrasing must keep. ``interrupt`` lets the line take the floor while the
    candidate is still speaking.
    """

    intent: str
    text: str
    t_s: float = 0.0
    fact_ids: list[str] = field(default_factory=list)
    complication_id: str | None = None
    mitigation_id: str | None = None
    interrupt: bool = False
    required: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "t_s": round(self.t_s, 3),
            "intent": self.intent,
            "text": self.text,
            "fact_ids": list(self.fact_ids),
            "complication_id": self.complication_id,
            "mitigation_id": self.mitigation_id,
            "interrupt": self.interrupt,
        }
