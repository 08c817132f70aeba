"""Words and utterances on the session clock: what every stage passes on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CANDIDATE = "candidate"
INTERVIEWER = "interviewer"


@dataclass
class Word:
    start_s: float
    end_s: float
    word: str
    probability: float = 1.0


@dataclass
class Utterance:
    """One stretch of speech by one speaker, with its words."""

    start_s: float
    end_s: float
    text: str
    words: list[Word] = field(default_factory=list)
    speaker: str = CANDIDATE
    # Filled in by analysis.label_utterance.
    labels: list[str] = field(default_factory=list)
    mitigation_kind: str | None = None
    concrete_mitigation: bool = False

    @property
    def onset_s(self) -> float:
        """Start of the first word, or of the utterance when no word times exist."""
        return self.words[0].start_s if self.words else self.start_s

    def to_json(self) -> dict[str, Any]:
        return {
            "start": round(self.start_s, 3),
            "end": round(self.end_s, 3),
            "speaker": self.speaker,
            "text": self.text,
            "words": [
                {"start": round(w.start_s, 3), "end": round(w.end_s, 3), "word": w.word}
                for w in self.words
            ],
            "labels": list(self.labels),
            "mitigation_kind": self.mitigation_kind,
            "concrete_mitigation": self.concrete_mitigation,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "Utterance":
        return cls(
            start_s=float(obj["start"]),
            end_s=float(obj["end"]),
            text=str(obj["text"]),
            words=[Word(float(w["start"]), float(w["end"]), str(w["word"])) for w in obj.get("words", [])],
            speaker=obj.get("speaker", CANDIDATE),
            labels=list(obj.get("labels", [])),
            mitigation_kind=obj.get("mitigation_kind"),
            concrete_mitigation=bool(obj.get("concrete_mitigation", False)),
        )
