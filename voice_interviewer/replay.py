"""``voice-interviewer replay``: a rehearsal in, a scored feedback report out.

The input is one of three kinds:

    audio        any recording (audio_io decodes it); the candidate's voice,
                 t0 at the start of the file unless --t0 says otherwise
    session      a folder live practice wrote (session.py): candidate.wav is
                 transcribed (a typed session's turns are read from its
                 events instead), the interviewer's lines come from
                 events.jsonl, t0 is the briefing_ended event, and the
                 scenario and seed are the session's own (meta.json, else the
                 events) unless --scenario / --seed say otherwise
    transcript   a WebVTT or SRT file a user already has (transcripts.py)

and :func:`replay_path` runs the same steps for each::

    resolve input → load scenario → utterances → labels → director → report → history

Reports of a recording or transcript go to ./reports/<name>/, or to
<name>-<suffix>/ when another input of that name wrote there first
(:func:`default_report_dir`).

For a raw recording nobody played the interviewer, so the director runs
alongside the candidate's turns and the report's ``interviewer`` list shows
when it would have cut in, and with what. In a session folder the interviewer
really spoke; its lines are read from the log instead.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

from voice_interviewer import events as ev
from voice_interviewer.errors import UserError
from voice_interviewer.events import Event, EventLog
from voice_interviewer.paths import writable_dir
from voice_interviewer.session import EVENTS_JSONL, is_session_folder, read_session
from voice_interviewer.utterances import CANDIDATE, INTERVIEWER, Utterance

logger = logging.getLogger(__name__)

AUDIO = "audio"
SESSION = "session"
TRANSCRIPT = "transcript"
TRANSCRIPT_SUFFIXES = (".vtt", ".srt")
DEFAULT_REPORTS_DIR = Path("reports")
# How often the director's timers are offered a tick while replaying a raw
# recording. Its triggers are whole seconds (no mitigation after 100 s, a
# monologue over 45 s), so a finer step changes nothing but the run time.
DIRECTOR_TICK_S = 1.0
# Whisper hands back segments of up to 30 s that run several sentences
# together, and the mitigation clock needs the onset of the sentence that
# proposes the action, not of the segment. Utterances are therefore cut at
# sentence ends and at pauses at least this long between words (the VAD's own
# min_silence_duration_ms: a pause that splits speech chunks splits turns).
SENTENCE_GAP_S = 1.0
# Sentences closer than this form one turn for the director: live practice
# ends a turn after 0.55-2.5 s of silence (live/turns.py), 1 s for a
# statement of unknown completeness.
TURN_GAP_S = 1.0
SENTENCE_END_CHARS = (".", "?", "!")
ATTACHING_CHARS = tuple(".,%?!:;'")
# Tokens ending in a full stop that do not end a sentence.
ABBREVIATIONS = frozenset({"e.g.", "i.e.", "etc.", "vs.", "mr.", "mrs.", "ms.", "dr.", "approx."})


@dataclass
class ReplayOptions:
    """Everything ``replay`` can be told; the CLI flags map one to one."""

    scenario: str | None = None  # id or path; None: a session's own, else the default scenario
    t0_s: float | None = None  # start of the mitigation clock; None: per input kind
    out_dir: Path | None = None  # None: the session folder, else default_report_dir()
    seed: int | None = None  # director seed; None: a session's own (meta.json), else 0
    progress: bool = True  # progress bar on stderr (only when stderr is a terminal)
    history: bool = True  # record the attempt in the history database
    whisper_model: str | None = None  # size name or CTranslate2 folder; None: bundled tiny.en
    write: bool = True  # write report.json/.md (tests may only want the dict)
    llm_judge: Any = None  # llm_config.LLMSettings: also ask an LLM judge for proposed scores


@dataclass
class ReplayInput:
    path: Path
    kind: str  # AUDIO | SESSION | TRANSCRIPT
    audio_path: Path | None = None  # what gets transcribed
    session: Any = None  # session.SessionData for a session folder

    @property
    def name(self) -> str:
        return self.path.name if self.kind == SESSION else self.path.stem


@dataclass
class Heard:
    """What the replay heard: utterances on the session clock, and its extent."""

    utterances: list[Utterance]
    duration_s: float
    t0_s: float
    interviewer_events: list[Event] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- entry points


def main(args) -> int:
    options = ReplayOptions(
        scenario=args.scenario,
        t0_s=args.t0,
        out_dir=Path(args.out).expanduser() if args.out else None,
        seed=args.seed,
        progress=not args.no_progress,
        history=not args.no_history,
        whisper_model=args.whisper_model,
        llm_judge=judge_settings(args),
    )
    report = replay_path(args.path, options)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        from voice_interviewer.report import summary_text

        print(summary_text(report))
        for written in report.get("meta", {}).get("written", []):
            print(f"  wrote {written}")
    return 0


def replay_path(path: str | Path, options: ReplayOptions | None = None, *,
                transcriber: Any = None, **overrides: Any) -> dict[str, Any]:
    """Replay one rehearsal and return its report (report.json's contents).

    ``overrides`` set single :class:`ReplayOptions` fields
    (``replay_path(p, t0_s=30, write=False)``). ``transcriber`` reuses a
    loaded :class:`voice_interviewer.stt.Transcriber` across calls, so a test
    or a batch loads the model once.
    """
    options = replace(options or ReplayOptions(), **overrides)
    started = time.perf_counter()
    if options.t0_s is not None and not (math.isfinite(options.t0_s) and options.t0_s >= 0):
        raise UserError(f"--t0 {options.t0_s:g}: must be a finite number of seconds, not negative")

    source = resolve_input(Path(path).expanduser())
    options = replace(options, seed=seed_for(source, options.seed))
    scenario = load_scenario_for(options, source)
    out_dir = choose_out_dir(source, options) if options.write else None

    heard = hear(source, scenario, options, transcriber)
    label(heard, scenario)
    log, interviewer = direct(heard, scenario, options.seed, source.kind)

    report = build(source, scenario, heard, log, interviewer, options)
    if options.llm_judge is not None:
        from voice_interviewer.judge import judge_report

        judge_report(report, options.llm_judge)
    if out_dir is not None:
        write(report, out_dir)
    if options.history:
        record_history(report)

    logger.info("replayed %s (%.1f s of %s) in %.2f s", source.path.name, heard.duration_s,
                source.kind, time.perf_counter() - started)
    return report


def judge_settings(args):
    """LLM settings for --llm-judge, checked before any transcription; None without it."""
    if not getattr(args, "llm_judge", False):
        return None
    from voice_interviewer.llm_config import load_settings

    settings = load_settings(args)
    settings.require_endpoint()
    return settings


# ---------------------------------------------------------------- steps


def resolve_input(path: Path) -> ReplayInput:
    """Say which of the three kinds ``path`` is, or why it is none of them."""
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.is_dir():
        if not is_session_folder(path):
            raise UserError(f"{path}: a folder, but not a session folder (no {EVENTS_JSONL})")
        session = read_session(path)
        if not isinstance(session.meta, dict):  # valid JSON, but not the object a session writes
            logger.warning("%s: meta.json is not an object, ignoring it", path)
            session.meta = {}
        if not is_typed_session(session) and not session.candidate_wav.is_file():
            raise UserError(f"{path}: session folder without candidate.wav")
        return ReplayInput(path, SESSION, audio_path=session.candidate_wav, session=session)
    if path.suffix.lower() in TRANSCRIPT_SUFFIXES:
        return ReplayInput(path, TRANSCRIPT)
    return ReplayInput(path, AUDIO, audio_path=path)


def load_scenario_for(options: ReplayOptions, source: ReplayInput | None = None):
    """--scenario when given; else the scenario a session folder was rehearsed on; else the default.

    Scoring a session against another scenario than its own would time the
    wrong mitigations, so its own is the default and --scenario the override.
    """
    from voice_interviewer.scenario import ScenarioError, load_scenario

    if options.scenario is not None or source is None or source.kind != SESSION:
        return load_scenario(options.scenario)
    recorded = recorded_scenario(source.session)
    if recorded is None:
        logger.warning("%s: records no scenario; scoring it against the default one", source.path)
        return load_scenario(None)
    try:
        return load_scenario(recorded)
    except ScenarioError:  # the file is there but broken: its own one-line message says where
        raise
    except UserError as exc:  # exit code 2, as for any unknown scenario
        raise UserError(f"{source.path}: rehearsed on scenario {recorded!r}, which no longer exists; "
                        "choose one with --scenario ID|PATH", exit_code=exc.exit_code) from None


def recorded_scenario(session) -> str | None:
    """What a session folder says to load its scenario from: meta.json, else its events.

    ``scenario_source`` is the path (or id) practice loaded it from; older
    folders have only the id. The events carry the id too, for a folder whose
    meta.json is missing or unreadable.
    """
    for key in ("scenario_source", "scenario"):
        if isinstance(session.meta.get(key), str) and session.meta[key]:
            return session.meta[key]
    for e in session.events:
        if e.kind in (ev.SESSION_STARTED, ev.BRIEFING_ENDED) and isinstance(e.data.get("scenario"), str):
            return e.data["scenario"]
    return None


def seed_for(source: ReplayInput, seed: int | None) -> int:
    """--seed when given; else the seed a session was rehearsed with; else 0."""
    if seed is not None:
        return seed
    if source.kind == SESSION:
        recorded = source.session.meta.get("seed")
        if recorded is None:
            recorded = next((e.data.get("seed") for e in source.session.events
                             if e.kind == ev.BRIEFING_ENDED and "seed" in e.data), None)
        if isinstance(recorded, int) and not isinstance(recorded, bool):
            return recorded
    return 0


def scenario_meta(given: str | Path | None, scenario) -> dict[str, str]:
    """meta.json's scenario fields, written by both kinds of practice and read back by replay.

    ``scenario`` is the id; ``scenario_source`` what to load it from again: a
    scenario file's absolute path (the folder then replays from any working
    directory), else the built-in's id.
    """
    if given is not None and Path(str(given)).suffix in (".yaml", ".yml") and scenario.source:
        source = str(Path(scenario.source).expanduser().resolve())
    else:
        source = scenario.id
    return {"scenario": scenario.id, "scenario_source": source}


def is_typed_session(session) -> bool:
    """A ``practice --text`` folder: said so in meta.json, or, without one, by its first event."""
    if session.meta.get("input") == "text":
        return True
    return any(e.kind == ev.SESSION_STARTED and e.data.get("source") == "text" for e in session.events)


def choose_out_dir(source: ReplayInput, options: ReplayOptions) -> Path:
    """--out, else the session folder, else default_report_dir(); checked before any work."""
    if options.out_dir is not None:
        out = Path(options.out_dir).expanduser()
    elif source.kind == SESSION:
        out = source.path
    else:
        out = default_report_dir(source)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder")
    return writable_dir(out)


def default_report_dir(source: ReplayInput, root: Path = DEFAULT_REPORTS_DIR) -> Path:
    """./reports/<name>/, or <name>-<suffix>/ when another input of that name wrote there first.

    call.vtt then call.srt: reports/call/ and reports/call-srt/ (a third
    call.srt from another folder: call-srt-2/). Replaying the same input again
    finds the folder it wrote before (report.json's source.path) and updates
    it, wherever it is in that order.
    """
    me = str(source.path.resolve())
    tag = source.path.suffix.lstrip(".").lower() or "input"
    candidates = [root / source.name, root / f"{source.name}-{tag}"]
    n = 2
    while (root / f"{source.name}-{tag}-{n}").exists():
        candidates.append(root / f"{source.name}-{tag}-{n}")
        n += 1
    candidates.append(root / f"{source.name}-{tag}-{n}")  # does not exist: always free
    free = None
    for out in candidates:
        owner = _report_owner(out)
        if owner == me:
            return out
        if owner is None and free is None:
            free = out
    return free


def _report_owner(folder: Path) -> str | None:
    """The input whose report is in ``folder``; None when nothing is (the folder is free to use).

    A folder holding something else (a file of that name, a report.json that
    cannot be read) is taken, and answers "" so nothing overwrites it.
    """
    if not folder.exists():
        return None
    if not folder.is_dir():
        return ""
    from voice_interviewer.report import REPORT_JSON

    report_path = folder / REPORT_JSON
    if not report_path.exists():
        return None
    try:
        path = json.loads(report_path.read_text(encoding="utf-8")).get("source", {}).get("path")
    except (OSError, ValueError, AttributeError):
        return ""
    return str(path) if path else ""


def hear(source: ReplayInput, scenario, options: ReplayOptions, transcriber: Any) -> Heard:
    """Utterances on the session clock and t0, by the input's kind."""
    if source.kind == TRANSCRIPT:
        heard = read_transcript_file(source.path)
        heard.t0_s = checked_t0_s(options.t0_s, 0.0, heard.duration_s)
    elif source.kind == SESSION:
        events = source.session.events
        if is_typed_session(source.session):  # typed rehearsal: the log holds the turns
            heard = Heard(utterances=typed_utterances(events), duration_s=0.0, t0_s=0.0)
        else:
            heard = transcribe_file(source.audio_path, scenario, options, transcriber)
        heard.interviewer_events = interviewer_events(events)
        heard.utterances = merge_by_time(heard.utterances, interviewer_utterances(events))
        heard.duration_s = max(heard.duration_s, _last_event_s(events))
        heard.t0_s = checked_t0_s(options.t0_s, source.session.t0_s(), heard.duration_s)
    else:
        if options.t0_s is not None:  # a wrong --t0 should not cost a transcription first
            from voice_interviewer.audio_io import audio_duration_s

            checked_t0_s(options.t0_s, 0.0, audio_duration_s(source.audio_path))
        heard = transcribe_file(source.audio_path, scenario, options, transcriber)
        heard.t0_s = checked_t0_s(options.t0_s, 0.0, heard.duration_s)
    if not any(u.speaker == CANDIDATE for u in heard.utterances):
        raise UserError(f"{source.path}: no speech found")
    return heard


def checked_t0_s(t0_s: float | None, default_s: float, duration_s: float) -> float:
    t0_s = default_s if t0_s is None else t0_s
    if duration_s and t0_s > duration_s:
        raise UserError(f"--t0 {t0_s:g}: past the end of the recording ({duration_s:.1f} s)")
    return t0_s


def read_transcript_file(path: Path) -> Heard:
    """Cues cut into sentences like Whisper's segments; a sentence after the
    first in a cue gets its onset from the cue's evenly spread word times."""
    from voice_interviewer.transcripts import read_transcript

    utterances = split_sentences(read_transcript(path))
    duration_s = max((u.end_s for u in utterances), default=0.0)
    return Heard(utterances=utterances, duration_s=duration_s, t0_s=0.0)


def transcribe_file(audio_path: Path, scenario, options: ReplayOptions, transcriber: Any) -> Heard:
    from voice_interviewer.audio_io import SAMPLE_RATE, load_audio
    from voice_interviewer.onset import refine_utterance_onsets

    timings: dict[str, float] = {}
    clock = time.perf_counter()
    audio_float32 = load_audio(audio_path)
    duration_s = audio_float32.size / SAMPLE_RATE
    timings["decode_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    transcriber = transcriber or make_transcriber(scenario, options.whisper_model)
    with ProgressBar(duration_s, enabled=options.progress) as on_progress:
        utterances = transcriber.transcribe(audio_float32, progress=on_progress)
    timings["transcribe_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    utterances = refine_utterance_onsets(split_sentences(utterances), audio_float32, SAMPLE_RATE)
    timings["onset_s"] = time.perf_counter() - clock
    for u in utterances:
        u.speaker = CANDIDATE
    logger.info("transcribed %.1f s of audio into %d utterances in %.2f s",
                duration_s, len(utterances), timings["transcribe_s"])
    return Heard(utterances=utterances, duration_s=duration_s, t0_s=0.0, timings_s=timings)


def split_sentences(utterances: list[Utterance]) -> list[Utterance]:
    """One utterance per sentence, word times kept.

    The words of consecutive utterances are read as one stream, so a sentence
    Whisper broke across two segments (at a 30 s window's edge, say) is made
    whole again. A sentence ends at . ? or !, at a pause of SENTENCE_GAP_S, or
    where the speaker changes.
    """
    out: list[Utterance] = []
    current: list = []  # words of the sentence being built
    parent: Utterance | None = None  # the utterance its first word came from
    previous: Utterance | None = None

    def flush() -> None:
        nonlocal current
        if current:
            out.append(_utterance_of(current, parent))
            current = []

    for utterance in sorted(utterances, key=lambda u: u.start_s):
        if previous is not None and _speaker(utterance) != _speaker(previous):
            flush()
        previous = utterance
        if not utterance.words:
            flush()
            out.append(utterance)
            continue
        for word in utterance.words:
            if current and word.start_s - current[-1].end_s >= SENTENCE_GAP_S:
                flush()
            if not current:
                parent = utterance
            current.append(word)
            if _ends_sentence(word.word):
                flush()
    flush()
    return out


def _speaker(u: Utterance) -> tuple[str, str | None]:
    return u.speaker, getattr(u, "speaker_name", None)


def _ends_sentence(token: str) -> bool:
    token = token.strip().rstrip("\"')")
    return token.endswith(SENTENCE_END_CHARS) and token.lower() not in ABBREVIATIONS


def _utterance_of(words: list, parent: Utterance) -> Utterance:
    part = replace(parent, start_s=words[0].start_s, end_s=words[-1].end_s,
                   text=join_words([w.word for w in words]), words=list(words))
    # Stages hang extras on utterances as plain attributes (transcripts: speaker_name).
    extras = {k: v for k, v in vars(parent).items() if k not in {f.name for f in fields(parent)}}
    vars(part).update(extras)
    return part


def join_words(tokens: list[str]) -> str:
    """Words back into text. Whisper splits "2.3.0" into "2" ".3" ".0" and
    "12%" into "12" "%", so punctuation-led tokens attach to the word before."""
    text = ""
    for token in (t.strip() for t in tokens):
        if text and not token.startswith(ATTACHING_CHARS):
            text += " "
        text += token
    return text


def make_transcriber(scenario, whisper_model: str | None = None):
    """A Transcriber primed with the scenario's vocabulary, keeping fillers."""
    from voice_interviewer.stt import Transcriber, rehearsal_prompts

    prompt, hotwords = rehearsal_prompts(scenario)
    return Transcriber(model=whisper_model, prompt=prompt, hotwords=hotwords)


def label(heard: Heard, scenario) -> None:
    """Label the candidate's utterances in place; the interviewer's lines are their context."""
    from voice_interviewer.analysis import label_utterances

    label_utterances(heard.utterances, scenario)


def direct(heard: Heard, scenario, seed: int, kind: str) -> tuple[EventLog, list[dict[str, Any]]]:
    """The session's event log and the interviewer's lines.

    A session folder already holds what the interviewer said. For a raw
    recording or a transcript, the director runs beside the candidate's
    turns and its actions are what it would have said.
    """
    log = EventLog()
    if kind == SESSION:
        return log, [interviewer_line(e) for e in heard.interviewer_events]
    log.append(0.0, ev.SESSION_STARTED, source=kind)
    from voice_interviewer.director import Director

    actions = run_director(Director(scenario, seed=seed, log=log), heard)
    log.append(heard.duration_s, ev.SESSION_ENDED)
    return log, [a.to_json() for a in actions]


def run_director(director, heard: Heard) -> list[Any]:
    """Feed the director the candidate's turns and timer ticks in clock order.

    Ticks come every DIRECTOR_TICK_S through silences and through turns (with
    how long the candidate has been talking, for the monologue cut-in), and
    each turn is handed over when it ends, as live practice would.
    """
    from voice_interviewer.director import speaking_time_s

    t0_s = heard.t0_s
    briefing_s = speaking_time_s(director.scenario.briefing_text)
    # The briefing was said before a raw recording starts; it is placed so it ends at t0.
    actions = list(director.start(max(0.0, t0_s - briefing_s), briefing_ended_s=t0_s))
    t_s = t0_s
    for turn in director_turns([u for u in heard.utterances if u.speaker == CANDIDATE and u.end_s > t0_s]):
        onset_s = max(turn.onset_s, t0_s)
        while t_s + DIRECTOR_TICK_S <= onset_s:  # silence before the turn
            t_s += DIRECTOR_TICK_S
            actions += director.on_tick(t_s, 0.0)
        while t_s + DIRECTOR_TICK_S < turn.end_s:  # the candidate is talking
            t_s += DIRECTOR_TICK_S
            actions += director.on_tick(t_s, t_s - onset_s)
        t_s = max(t_s, turn.end_s)
        actions += director.on_turn(turn)
        if director.done:
            return actions
    while t_s + DIRECTOR_TICK_S <= heard.duration_s:  # silence after the last turn
        t_s += DIRECTOR_TICK_S
        actions += director.on_tick(t_s, 0.0)
    return actions


def director_turns(sentences: list[Utterance]) -> list[Utterance]:
    """Sentences joined into turns where the pause between them is shorter than TURN_GAP_S.

    A concrete mitigation always starts a turn of its own, so the director
    times the mitigation from its first word, as the report does.
    """
    groups: list[list[Utterance]] = []
    for u in sorted(sentences, key=lambda u: u.start_s):
        if groups and u.start_s - groups[-1][-1].end_s < TURN_GAP_S and not u.concrete_mitigation:
            groups[-1].append(u)
        else:
            groups.append([u])
    return [_merged_turn(g) for g in groups]


def _merged_turn(group: list[Utterance]) -> Utterance:
    if len(group) == 1:
        return group[0]
    labels = list(dict.fromkeys(label for u in group for label in u.labels))
    kinds = [u.mitigation_kind for u in group if u.concrete_mitigation] + [u.mitigation_kind for u in group]
    return Utterance(
        start_s=group[0].start_s, end_s=group[-1].end_s, text=" ".join(u.text for u in group),
        words=[w for u in group for w in u.words], speaker=CANDIDATE, labels=labels,
        mitigation_kind=next((k for k in kinds if k), None),
        concrete_mitigation=any(u.concrete_mitigation for u in group),
    )


def build(source: ReplayInput, scenario, heard: Heard, log: EventLog,
          interviewer: list[dict[str, Any]], options: ReplayOptions) -> dict[str, Any]:
    from voice_interviewer.models import BUNDLED_WHISPER
    from voice_interviewer.report import build_report

    meta: dict[str, Any] = {"models": {"whisper": options.whisper_model or BUNDLED_WHISPER}}
    if source.kind == TRANSCRIPT:
        meta["models"] = {}
    meta["timings_s"] = {k: round(v, 3) for k, v in heard.timings_s.items()}
    if source.kind == SESSION:
        events = list(source.session.events)
        meta.update({k: source.session.meta[k] for k in ("started_at", "mode") if k in source.session.meta})
    else:
        events = list(log.events)
    return build_report(
        utterances=heard.utterances, events=events, scenario=scenario, t0_s=heard.t0_s,
        source={"path": str(source.path.resolve()), "kind": source.kind, "name": source.name},
        duration_s=heard.duration_s, seed=options.seed, interviewer=interviewer, meta=meta,
    )


def write(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """report.json, report.md and (when report_html is installed) report.html."""
    from voice_interviewer.report import write_reports

    try:
        written = write_reports(report, out_dir)
    except OSError as exc:
        raise UserError(f"{out_dir}: cannot write the report ({exc.strerror or exc})") from None
    report.setdefault("meta", {})["written"] = [str(p) for p in written]
    return written


def record_history(report: dict[str, Any]) -> None:
    """Add the attempt to the history database. The reports are already written,
    so a history that cannot be opened costs a warning, not the replay."""
    from voice_interviewer import history

    try:
        history.record(report)
    except UserError as exc:
        logger.warning("not recorded in the history: %s", exc)


# ---------------------------------------------------------------- session folders


def typed_utterances(events: list[Event]) -> list[Utterance]:
    """The candidate's turns of a typed session, from its transcript_final events."""
    out = []
    for e in events:
        if e.kind == ev.TRANSCRIPT_FINAL:
            data = e.data.get("utterance") or e.data
            if "start" in data and "end" in data and "text" in data:
                out.append(replace(Utterance.from_json(data), speaker=CANDIDATE, labels=[],
                                   mitigation_kind=None, concrete_mitigation=False))
    return out


def interviewer_events(events: list[Event]) -> list[Event]:
    return [e for e in events if e.kind == ev.INTERVIEWER_STARTED and e.data.get("text")]


def interviewer_line(event: Event) -> dict[str, Any]:
    """An interviewer_started event in the shape of Action.to_json()."""
    data = event.data
    return {
        "t_s": round(event.t_s, 3),
        "intent": data.get("intent"),
        "text": data.get("text", ""),
        "fact_ids": list(data.get("fact_ids", [])),
        "complication_id": data.get("complication_id"),
        "mitigation_id": data.get("mitigation_id"),
        "interrupt": bool(data.get("interrupt", False)),
    }


def interviewer_utterances(events: list[Event]) -> list[Utterance]:
    """What the interviewer said, each line ending where it stopped or was cut off."""
    ends = sorted(e.t_s for e in events if e.kind in (ev.INTERVIEWER_STOPPED, ev.INTERVIEWER_CUT_OFF))
    out = []
    for e in interviewer_events(events):
        end_s = next((t for t in ends if t >= e.t_s), e.t_s)
        out.append(Utterance(start_s=e.t_s, end_s=end_s, text=e.data["text"], speaker=INTERVIEWER))
    return out


def merge_by_time(a: list[Utterance], b: list[Utterance]) -> list[Utterance]:
    return sorted(a + b, key=lambda u: u.start_s)


def _last_event_s(events: list[Event]) -> float:
    return max((e.t_s for e in events), default=0.0)


# ---------------------------------------------------------------- progress


class ProgressBar:
    """A context manager yielding ``on_progress(done_s, total_s)`` for the transcriber.

    The bar goes to stderr and only when stderr is a terminal, so ``--json``
    output and logs piped to a file stay clean; it is cleared when done.
    """

    def __init__(self, total_s: float, enabled: bool = True):
        self.total_s = total_s
        self.enabled = enabled and sys.stderr.isatty()
        self._progress = None
        self._task = None

    def __enter__(self) -> Callable[[float, float], None] | None:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("transcribing"), BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} s of audio"),
            TimeElapsedColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("transcribe", total=self.total_s)
        return self._update

    def _update(self, done_s: float, _total_s: float | None = None) -> None:
        self._progress.update(self._task, completed=min(done_s, self.total_s))

    def __exit__(self, *exc_info) -> None:
        if self._progress is not None:
            self._progress.stop()
