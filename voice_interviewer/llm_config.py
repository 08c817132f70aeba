"""Settings for an OpenAI-compatible endpoint, and keeping the API key secret.

Where each setting comes from, first match wins:

    setting     command line       environment        config file ([llm] table)
    base_url    --llm-base-url     OPENAI_BASE_URL    base_url
    model       --llm-model        -                  model
    api_key     -                  OPENAI_API_KEY     api_key

The config file is ``--config FILE``, else
``$XDG_CONFIG_HOME/voice-interviewer/config.toml`` (``~/.config/...``)::

    [llm]
    base_url = "http://127.0.0.1:8080/v1"    # Ollama, llama.cpp, vLLM, OpenAI ...
    model = "smollm2"
    # api_key = "..."                        # prefer OPENAI_API_KEY
    first_token_timeout_s = 1.5              # no first token by then: scripted line
    line_timeout_s = 6.0                     # a whole generated line
    max_tokens = 120
    temperature = 0.3
    # seed = 7                               # repeatable sampling, where supported

There is no default endpoint: nothing leaves the machine unless the user
names one. The key is never printed, logged or written: :meth:`LLMSettings.to_meta`
records only the base URL (without credentials), the model and where the key
came from, and :func:`protect_secret` scrubs it from every log record.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from voice_interviewer.errors import UserError
from voice_interviewer.paths import config_home

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.toml"
DEFAULT_FIRST_TOKEN_TIMEOUT_S = 1.5
DEFAULT_LINE_TIMEOUT_S = 6.0
DEFAULT_CONNECT_TIMEOUT_S = 1.0
DEFAULT_MAX_TOKENS = 120
DEFAULT_TEMPERATURE = 0.3
DEFAULT_JUDGE_TIMEOUT_S = 120.0
# A local server accepts any key; the openai client refuses to start without one.
NO_KEY_PLACEHOLDER = "not-needed"
REDACTED = "[redacted]"


@dataclass
class LLMSettings:
    """How to reach an OpenAI-compatible chat endpoint."""

    base_url: str | None = None
    """Endpoint root, e.g. ``http://127.0.0.1:8080/v1``."""
    model: str | None = None
    """Model name the endpoint knows (llama.cpp accepts any)."""
    api_key: str | None = field(default=None, repr=False)
    """Secret; ``repr`` and :meth:`to_meta` leave it out."""
    key_source: str = "none"
    """``env``, ``config`` or ``none``: recorded instead of the key."""
    first_token_timeout_s: float = DEFAULT_FIRST_TOKEN_TIMEOUT_S
    """No first token by then: the scripted line is said and the session goes on."""
    line_timeout_s: float = DEFAULT_LINE_TIMEOUT_S
    """Upper bound for one generated line, first token to last."""
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    """TCP connect budget; a dead host must not stall a live turn."""
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = DEFAULT_TEMPERATURE
    seed: int | None = None
    """Sampling seed, for endpoints that honour it (llama.cpp does): repeatable runs."""
    judge_timeout_s: float = DEFAULT_JUDGE_TIMEOUT_S
    """Budget for the after-session judge call, which is not live."""
    config_path: str | None = None
    """The config file that was read, if any."""

    def to_meta(self) -> dict[str, Any]:
        """What a session's meta.json may record: never the key."""
        return {
            "base_url": safe_url(self.base_url),
            "model": self.model,
            "key_source": self.key_source,
            "first_token_timeout_s": self.first_token_timeout_s,
        }

    def require_endpoint(self) -> None:
        """Raise a one-line UserError naming every way to set what is missing."""
        if not self.base_url:
            raise UserError("the LLM (--voice openai, --llm-judge) needs an endpoint: --llm-base-url URL, OPENAI_BASE_URL, "
                            f"or base_url in the [llm] table of {self.config_path or default_config_path()}")
        if not self.model:
            raise UserError("the LLM (--voice openai, --llm-judge) needs a model name: --llm-model NAME, "
                            f"or model in the [llm] table of {self.config_path or default_config_path()}")


# Config keys a user may set, with their types; api_key handled apart.
_FILE_KEYS = {
    "base_url": str, "model": str, "api_key": str,
    "first_token_timeout_s": (int, float), "line_timeout_s": (int, float),
    "connect_timeout_s": (int, float), "max_tokens": int, "temperature": (int, float),
    "judge_timeout_s": (int, float), "seed": int,
}


def default_config_path() -> Path:
    return config_home() / CONFIG_NAME


def load_settings(args: Any = None, environ: Mapping[str, str] | None = None) -> LLMSettings:
    """Settings from the command line (``args.llm_model``, ``args.llm_base_url``,
    ``args.config``), then the environment, then the config file."""
    environ = os.environ if environ is None else environ
    explicit_config = getattr(args, "config", None)
    path = Path(explicit_config).expanduser() if explicit_config else default_config_path()
    table = _read_config(path, must_exist=bool(explicit_config))

    settings = LLMSettings(config_path=str(path) if table is not None else None)
    table = table or {}
    for f in fields(LLMSettings):
        if f.name in table and f.name != "api_key":
            setattr(settings, f.name, table[f.name])
    settings.base_url = getattr(args, "llm_base_url", None) or environ.get("OPENAI_BASE_URL") or table.get("base_url")
    settings.model = getattr(args, "llm_model", None) or table.get("model")
    if environ.get("OPENAI_API_KEY"):
        settings.api_key, settings.key_source = environ["OPENAI_API_KEY"], "env"
    elif table.get("api_key"):
        settings.api_key, settings.key_source = table["api_key"], "config"
        _warn_if_readable_by_others(path)
    _check_numbers(settings, path)

    if settings.api_key:
        protect_secret(settings.api_key)
    protect_url_credentials(settings.base_url)
    logger.debug("llm settings: %s", settings.to_meta())
    return settings


def _read_config(path: Path, must_exist: bool) -> dict[str, Any] | None:
    if not path.is_file():
        if must_exist:
            raise UserError(f"{path}: config file not found")
        return None
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read config file ({exc.strerror})") from None
    table = raw.get("llm", {})
    if not isinstance(table, dict):
        raise UserError(f"{path}: llm: must be a table ([llm])")
    for key, value in table.items():
        if key not in _FILE_KEYS:
            raise UserError(f"{path}: llm.{key}: unknown setting (expected one of: {', '.join(sorted(_FILE_KEYS))})")
        if isinstance(value, bool) or not isinstance(value, _FILE_KEYS[key]):
            # Never echo the value: it may be the key.
            raise UserError(f"{path}: llm.{key}: wrong type")
    return table


def _check_numbers(settings: LLMSettings, path: Path) -> None:
    for name in ("first_token_timeout_s", "line_timeout_s", "connect_timeout_s", "max_tokens", "judge_timeout_s"):
        if getattr(settings, name) <= 0:
            raise UserError(f"{path}: llm.{name}: must be positive")
    settings.first_token_timeout_s = float(settings.first_token_timeout_s)
    settings.line_timeout_s = float(settings.line_timeout_s)


def _warn_if_readable_by_others(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        logger.warning("%s holds an API key and is readable by other users; chmod 600 it", path)


# ------------------------------------------------------------ secrets


_secrets: set[str] = set()
_factory_installed = False
# Keys shorter than this are placeholders ("x", "none"): scrubbing them would
# mangle ordinary log text.
_MIN_SECRET_CHARS = 6


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``[redacted]``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def protect_secret(secret: str | None) -> None:
    """Register ``secret`` so no log record, from any logger, can carry it.

    A log-record factory rather than a handler filter: it runs for every
    record at creation, including records of the openai and httpx loggers and
    handlers added later (pytest's, the CLI's), so no handler can miss it.
    """
    global _factory_installed
    if not secret or len(secret) < _MIN_SECRET_CHARS or secret == NO_KEY_PLACEHOLDER:
        return
    _secrets.add(secret)
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def protect_url_credentials(url: str | None) -> None:
    """A base URL may carry ``user:password@``; treat the password as a secret."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.password:
        protect_secret(parts.password)


def safe_url(url: str | None) -> str | None:
    """The URL without user info or query string (which may hold a key)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _scrub_record(record: logging.LogRecord) -> None:
    if not _secrets:
        return
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is logging's problem to report, not ours
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[1] is not None:
        text = str(record.exc_info[1])
        if redact(text) != text:
            # The traceback would print the exception's message verbatim.
            record.exc_info = None
            record.exc_text = None
            record.msg = f"{record.msg} (exception details withheld: they contained a secret)"
