"""The ``voice-interviewer`` command: argument parsing and error handling.

Each subcommand's work lives in its own module, imported only when that
subcommand runs, so ``replay`` never imports sounddevice and ``scenarios``
never loads a speech model. A handler takes the parsed arguments and returns
an exit code; user errors are raised as :class:`UserError` and printed here as
one line.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys

from voice_interviewer import __version__
from voice_interviewer.errors import UserError

logger = logging.getLogger(__name__)

EPILOG = """\
examples:
  voice-interviewer replay audio_fixtures/fast_rollback.wav
  voice-interviewer replay sessions/2026-12-04T02-13-07_core-api-500s
  voice-interviewer replay call.vtt --scenario core-api-500s --t0 35
  voice-interviewer transcribe answer.m4a --json
  voice-interviewer simulate --scenario core-api-500s --candidate turns.txt --seed 3
  voice-interviewer practice --scenario core-api-500s
  voice-interviewer practice --text
  voice-interviewer history

environment:
  OPENAI_API_KEY, OPENAI_BASE_URL   used only with --voice openai or --llm-judge
  VOICE_INTERVIEWER_HOME            where sessions and history live
                                    (default: ~/.local/share/voice-interviewer)
"""

# subcommand -> "module:function"; the function takes argparse.Namespace.
HANDLERS = {
    "transcribe": "voice_interviewer.stt:main_transcribe",
    "replay": "voice_interviewer.replay:main",
    "scenarios": "voice_interviewer.scenario_cli:main",
    "simulate": "voice_interviewer.simulate:main",
    "practice": "voice_interviewer.live.practice:main",
    "devices": "voice_interviewer.live.devices:main",
    "history": "voice_interviewer.history:main",
    "compare": "voice_interviewer.compare:main",
}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (exit 2), like every other error here."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def finite_float(text: str) -> float:
    """argparse type: a finite number; "nan" and "inf" parse as floats but mean nothing as a time."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def non_negative_seconds(text: str) -> float:
    """argparse type for a time on the session clock (--t0): finite and >= 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must not be negative")
    return value


def positive_float(text: str) -> float:
    """argparse type for a length (--max-minutes): finite and > 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="voice-interviewer",
        description="Rehearse the incident-response interview out loud, and get scored feedback.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log one line per pipeline stage")
    parser.add_argument("--debug", action="store_true", help="log everything, and show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    _add_transcribe(sub)
    _add_replay(sub)
    _add_scenarios(sub)
    _add_simulate(sub)
    _add_practice(sub)
    sub.add_parser("devices", help="list audio input and output devices")
    _add_history(sub)
    _add_compare(sub)
    return parser


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--whisper-model",
        default=None,
        metavar="NAME|PATH",
        help="faster-whisper model: a size name (tiny.en, base.en, small ...) or a local "
        "CTranslate2 folder (default: the bundled tiny.en)",
    )


def _add_voice_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--voice", choices=("scripted", "openai"), default="scripted",
                   help="how the interviewer's lines are phrased (default: scripted, offline)")
    p.add_argument("--llm-model", default=None, help="model name for --voice openai")
    p.add_argument("--llm-base-url", default=None,
                   help="OpenAI-compatible endpoint for --voice openai (default: $OPENAI_BASE_URL)")
    p.add_argument("--config", default=None, metavar="FILE",
                   help="config file (default: ~/.config/voice-interviewer/config.toml)")


def _add_transcribe(sub) -> None:
    p = sub.add_parser("transcribe", help="transcribe a recording with word timestamps")
    p.add_argument("path", help="audio file: wav, flac, ogg/opus, mp3, m4a; any rate, mono or stereo")
    p.add_argument("--json", action="store_true", help="print segments and words as JSON")
    p.add_argument("--scenario", default=None, help="bias recognition towards this scenario's vocabulary")
    _add_model_options(p)


def _add_replay(sub) -> None:
    p = sub.add_parser("replay", help="score a recording, session folder or transcript",
                       description="Transcribe and score a rehearsal: time to first concrete "
                       "mitigation, the other clocks, and the five rubric scores with evidence.")
    p.add_argument("path", help="audio file, session folder, or .vtt/.srt transcript")
    p.add_argument("--scenario", default=None, help="scenario id or path to a scenario file (default: a session "
                   "folder's own, from its meta.json; else core-api-500s)")
    p.add_argument("--t0", type=non_negative_seconds, default=None, metavar="SECONDS",
                   help="when the mitigation clock starts (default: start of a recording; "
                   "end of the briefing in a session folder)")
    p.add_argument("--json", action="store_true", help="print the report JSON instead of the summary "
                   "(the report files and the history entry are written either way)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="where report.md/json/html go (default: the session folder, else ./reports/<name>/; "
                   "when another input of that name wrote there first, e.g. call.vtt before call.srt, "
                   "./reports/<name>-<suffix>/; replaying the same input again updates its own folder)")
    p.add_argument("--seed", type=int, default=None, help="director seed for the would-have-cut-in timeline "
                   "(default: a session folder's own, from its meta.json; else 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-history", action="store_true", help="do not record this attempt in the history database")
    p.add_argument("--llm-judge", action="store_true",
                   help="also ask an OpenAI-compatible LLM for proposed scores, shown beside the rubric")
    p.add_argument("--llm-model", default=None, help="model name for --llm-judge")
    p.add_argument("--llm-base-url", default=None, help="endpoint for --llm-judge (default: $OPENAI_BASE_URL)")
    p.add_argument("--config", default=None, metavar="FILE",
                   help="config file (default: ~/.config/voice-interviewer/config.toml)")
    _add_model_options(p)


def _add_scenarios(sub) -> None:
    p = sub.add_parser("scenarios", help="list scenarios, or check a scenario file")
    p.add_argument("action", nargs="?", choices=("list", "check"), default="list")
    p.add_argument("file", nargs="?", help="scenario file for `check`")
    p.add_argument("--json", action="store_true")


def _add_simulate(sub) -> None:
    p = sub.add_parser("simulate", help="text-only run of the director against scripted candidate turns")
    p.add_argument("--scenario", default=None, help="scenario id or path (default: core-api-500s)")
    p.add_argument("--candidate", required=True, metavar="TURNS",
                   help="file with one candidate turn per line, optionally prefixed by its time (01:35)")
    p.add_argument("--seed", type=int, default=0, help="picks among eligible curveballs; same seed, same run")
    p.add_argument("--json", action="store_true", help="print the run as one JSON object with an events list")
    _add_voice_options(p)


def _add_practice(sub) -> None:
    p = sub.add_parser("practice", help="rehearse out loud at the microphone (or typed, with --text)")
    p.add_argument("--scenario", default=None, help="scenario id or path (default: core-api-500s)")
    p.add_argument("--input", default=None, metavar="DEV", help="input device name or index (see `devices`)")
    p.add_argument("--output", default=None, metavar="DEV", help="output device name or index")
    p.add_argument("--mode", choices=("coached", "exam"), default="coached",
                   help="coached shows hints live; exam keeps feedback for the end")
    p.add_argument("--text", action="store_true", help="typed rehearsal: read turns from the keyboard")
    p.add_argument("--seed", type=int, default=None, help="curveball seed (default: random, recorded in meta.json)")
    p.add_argument("--sessions-dir", default=None, metavar="DIR", help="where session folders go")
    p.add_argument("--tts-model", default=None, metavar="ONNX", help="Piper voice .onnx (default: bundled en_US-joe-medium)")
    p.add_argument("--max-minutes", type=positive_float, default=30.0,
                   help="end the session after this long (default: 30)")
    p.add_argument("--no-echo-cancel", action="store_true", help="turn off the WebRTC echo canceller")
    _add_model_options(p)
    _add_voice_options(p)


def _add_history(sub) -> None:
    p = sub.add_parser("history", help="your scored attempts over time, with a trend chart")
    p.add_argument("--scenario", default=None, help="only this scenario")
    p.add_argument("--db", default=None, metavar="FILE", help="history database (default: in the data directory)")
    p.add_argument("--chart", default=None, metavar="FILE", help="where the trend chart goes (default: beside the database)")
    p.add_argument("--json", action="store_true")


def _add_compare(sub) -> None:
    p = sub.add_parser("compare", help="two attempts side by side")
    p.add_argument("a", help="session folder, report.json, or history id")
    p.add_argument("b", help="session folder, report.json, or history id")
    p.add_argument("--db", default=None, metavar="FILE")
    p.add_argument("--json", action="store_true")


def configure_logging(verbose: bool, debug: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    configure_logging(args.verbose, args.debug)
    module_name, func_name = HANDLERS[args.command].split(":")
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
        return int(handler(args) or 0)
    except UserError as exc:
        print(f"voice-interviewer: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("voice-interviewer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line, unless --debug asks for more
        if args.debug:
            raise
        print(f"voice-interviewer: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return 70
