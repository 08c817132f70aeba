"""Every scored attempt in a local SQLite database, so progress can be watched over attempts.

    <data home>/history.sqlite3      (file 0600 in a 0700 folder; --db or $VOICE_INTERVIEWER_HOME moves it)

One row per attempt in ``attempts``. An attempt is identified by a stable
key: the scenario plus a hash of the recording (a session's candidate.wav,
a replayed file, a transcript), so re-scoring the same session after an
upgrade updates its row instead of adding a second one, wherever the file
has moved since.

Durability: WAL journal, one transaction per write, so a process killed
mid-write leaves the earlier rows intact and readable. Schema changes are
migrations numbered by ``PRAGMA user_version``; a new database is built by
running every migration from 0, so the upgrade path is the path every test
takes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from voice_interviewer.errors import UserError
from voice_interviewer.paths import data_home, open_private, private_dir
from voice_interviewer.rubric import DIMENSIONS

logger = logging.getLogger(__name__)

DB_NAME = "history.sqlite3"
CHART_NAME = "history.png"
BUSY_TIMEOUT_MS = 5000
HASH_CHUNK_BYTES = 1 << 20
WAV_HEADER_BYTES = 44  # session.IncrementalWav's header: a candidate.wav this size holds no audio
RUBRIC_KEYS = DIMENSIONS  # the five rubric dimensions, in report order
RUBRIC_SHORT = {
    "bias_to_action": "act",
    "signal_usage": "sig",
    "diagnostic_precision": "diag",
    "reversible_mitigation": "rev",
    "blameless_postmortem": "pm",
}
# Report keys kept in summary_json: enough for `compare` by id without the session folder.
SUMMARY_KEYS = ("format_version", "source", "scenario", "seed", "t0_s", "duration_s", "mark_s", "mitigation",
                "two_minute_verdict", "clocks", "rubric", "delivery", "meta")
DEFAULT_MARK_S = 120.0


# --- schema and migrations -----------------------------------------------------------------------


def _migrate_0_to_1(conn: sqlite3.Connection) -> None:
    """The first schema: latency, the five scores, where the session is."""
    conn.execute("""
        CREATE TABLE attempts (
            id                    INTEGER PRIMARY KEY,
            attempt_key           TEXT NOT NULL UNIQUE,
            scenario_id           TEXT NOT NULL,
            attempted_at          TEXT NOT NULL,
            seed                  INTEGER,
            mitigation_latency_s  REAL,
            bias_to_action        INTEGER,
            signal_usage          INTEGER,
            diagnostic_precision  INTEGER,
            reversible_mitigation INTEGER,
            blameless_postmortem  INTEGER,
            source_name           TEXT,
            session_path          TEXT
        )""")
    conn.execute("CREATE INDEX attempts_by_scenario ON attempts (scenario_id, attempted_at)")


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """v2: the verdict and its mark, the other clocks, the report's path, re-score time, a summary for compare.

    Rows from v1 get their verdict from their latency against the default mark,
    which is what v1 scored against.
    """
    for column in (
        "mark_s REAL",
        "two_minute_verdict TEXT",
        "blast_radius_s REAL",
        "change_check_s REAL",
        "communication_s REAL",
        "source_kind TEXT",
        "report_path TEXT",
        "rescored_at TEXT",
        "summary_json TEXT",
    ):
        conn.execute(f"ALTER TABLE attempts ADD COLUMN {column}")
    conn.execute("UPDATE attempts SET mark_s = ?", (DEFAULT_MARK_S,))
    conn.execute("""
        UPDATE attempts SET two_minute_verdict = CASE
            WHEN mitigation_latency_s IS NULL THEN 'none'
            WHEN mitigation_latency_s <= mark_s THEN 'in_time'
            ELSE 'late' END""")


# MIGRATIONS[n] takes a database at version n to n + 1.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migrate_0_to_1, _migrate_1_to_2]
SCHEMA_VERSION = len(MIGRATIONS)

COLUMNS = (
    "attempt_key", "scenario_id", "attempted_at", "seed", "mitigation_latency_s", *RUBRIC_KEYS, "source_name",
    "session_path", "mark_s", "two_minute_verdict", "blast_radius_s", "change_check_s", "communication_s",
    "source_kind", "report_path", "rescored_at", "summary_json",
)
# On re-scoring, everything but the attempt's identity and its date is replaced.
KEEP_ON_RESCORE = ("attempt_key", "attempted_at")


def default_db_path() -> Path:
    return data_home() / DB_NAME


def connect(db_path: Path | str | None = None, create: bool = True) -> sqlite3.Connection:
    """Open (creating and migrating as needed) the history database."""
    path = Path(db_path).expanduser() if db_path else default_db_path()
    if create:
        _prepare_file(path, is_default=db_path is None)
    elif not path.is_file():
        raise UserError(f"{path}: no history database there yet")
    try:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so DDL and DML share one transaction.
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")  # a committed attempt survives a power cut, not just a crash
        migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{path}: not a usable history database ({exc})") from None
    return conn


def migrate(conn: sqlite3.Connection, path: Path | str = "database") -> int:
    """Bring the schema to SCHEMA_VERSION, one transaction per step; returns the version found."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise UserError(f"{path}: history schema v{found} is newer than this voice-interviewer "
                        f"understands (v{SCHEMA_VERSION}); upgrade voice-interviewer")
    for version in range(found, SCHEMA_VERSION):
        with transaction(conn):
            # Re-read inside the write lock: another process may have migrated meanwhile.
            if conn.execute("PRAGMA user_version").fetchone()[0] != version:
                continue
            MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        logger.info("%s: history schema v%d -> v%d", path, version, version + 1)
    return found


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _prepare_file(path: Path, is_default: bool) -> None:
    if is_default or not path.parent.exists():
        private_dir(path.parent)
    try:
        # Created 0600 before SQLite opens it; SQLite gives the -wal and -shm files the same mode.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise UserError(f"{path}: cannot open the history database ({exc.strerror})") from None


# --- recording an attempt ------------------------------------------------------------------------


def record(report: dict[str, Any], db_path: Path | str | None = None) -> int:
    """Add the attempt in ``report`` (report.json's dict), or update it if it was scored before; its row id."""
    row = attempt_row(report)
    conn = connect(db_path)
    try:
        with transaction(conn):
            row_id = upsert(conn, row)
    finally:
        conn.close()
    logger.info("history: attempt %d (%s, mitigation %s s)", row_id, row["scenario_id"],
                row["mitigation_latency_s"])
    return row_id


def upsert(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    """Insert ``row`` or update the row with its attempt_key; call inside :func:`transaction`."""
    names = ", ".join(COLUMNS)
    marks = ", ".join(f":{c}" for c in COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in KEEP_ON_RESCORE)
    existing = conn.execute("SELECT id FROM attempts WHERE attempt_key = ?", (row["attempt_key"],)).fetchone()
    values = {**row, "rescored_at": _now_iso() if existing else None}
    conn.execute(f"INSERT INTO attempts ({names}) VALUES ({marks}) "
                 f"ON CONFLICT (attempt_key) DO UPDATE SET {updates}", values)
    return conn.execute("SELECT id FROM attempts WHERE attempt_key = ?", (row["attempt_key"],)).fetchone()[0]


def attempt_row(report: dict[str, Any]) -> dict[str, Any]:
    """The columns for one report."""
    source = report.get("source") or {}
    scenario_id = (report.get("scenario") or {}).get("id") or "unknown"
    mitigation = report.get("mitigation") or {}
    clocks = report.get("clocks") or {}
    rubric = report.get("rubric") or {}
    session_path, report_path = _paths(report)
    return {
        "attempt_key": attempt_key(report),
        "scenario_id": scenario_id,
        "attempted_at": attempted_at(report),
        "seed": report.get("seed"),
        "mitigation_latency_s": mitigation.get("latency_s"),
        **{key: (rubric.get(key) or {}).get("score") for key in RUBRIC_KEYS},
        "source_name": source.get("name"),
        "session_path": session_path,
        "mark_s": report.get("mark_s", DEFAULT_MARK_S),
        "two_minute_verdict": report.get("two_minute_verdict"),
        "blast_radius_s": (clocks.get("blast_radius") or {}).get("latency_s"),
        "change_check_s": (clocks.get("change_check") or {}).get("latency_s"),
        "communication_s": (clocks.get("communication") or {}).get("latency_s"),
        "source_kind": source.get("kind"),
        "report_path": report_path,
        "rescored_at": None,
        "summary_json": json.dumps({k: report[k] for k in SUMMARY_KEYS if k in report}, ensure_ascii=False),
    }


def attempt_key(report: dict[str, Any]) -> str:
    """scenario + what was scored: a hash of the recording or transcript, else its path.

    A hash rather than a path, so an attempt keeps its row when the user moves
    or renames the folder; the scenario is part of it because the same
    recording scored against another scenario is another attempt.
    """
    scenario_id = (report.get("scenario") or {}).get("id") or "unknown"
    source = report.get("source") or {}
    if source.get("attempt_key"):
        return f"{scenario_id}:{source['attempt_key']}"
    path = Path(source.get("path") or "")
    kind = source.get("kind") or "audio"
    content = _content_file(path, kind)
    if content is not None:
        return f"{scenario_id}:sha256:{_sha256(content)}"
    return f"{scenario_id}:{kind}:{path.expanduser().resolve() if source.get('path') else source.get('name')}"


def attempted_at(report: dict[str, Any]) -> str:
    """When the attempt happened: meta's start time, the session folder's stamp, the file's time, or now."""
    meta = report.get("meta") or {}
    for key in ("started_at", "attempted_at", "created_at"):
        if meta.get(key):
            return str(meta[key])
    source = report.get("source") or {}
    path = Path(source.get("path") or "")
    stamp = re.match(r"(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})", path.name)
    if stamp:
        return f"{stamp.group(1)}T{stamp.group(2)}:{stamp.group(3)}:{stamp.group(4)}"
    if source.get("path") and path.exists():
        return dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")
    return _now_iso()


def _content_file(path: Path, kind: str) -> Path | None:
    if not str(path) or not path.exists():
        return None
    if path.is_dir():
        # A typed session's candidate.wav is a bare 44-byte header, the same in
        # every folder: its hash would merge all typed attempts into one row.
        for name, min_bytes in (("candidate.wav", WAV_HEADER_BYTES + 1), ("events.jsonl", 1)):
            if (path / name).is_file() and (path / name).stat().st_size >= min_bytes:
                return path / name
        return None
    return path if path.is_file() else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _paths(report: dict[str, Any]) -> tuple[str | None, str | None]:
    source = report.get("source") or {}
    session = source.get("path") if source.get("kind") == "session" else None
    written = [p for p in (report.get("meta") or {}).get("written", []) if str(p).endswith("report.json")]
    return session, (written[0] if written else None)


def _now_iso() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


# --- reading -------------------------------------------------------------------------------------


def attempts(db_path: Path | str | None = None, scenario_id: str | None = None) -> list[dict[str, Any]]:
    """All attempts, oldest first, optionally of one scenario."""
    conn = connect(db_path, create=False)
    try:
        sql = "SELECT * FROM attempts"
        params: tuple = ()
        if scenario_id:
            sql += " WHERE scenario_id = ?"
            params = (scenario_id,)
        rows = conn.execute(sql + " ORDER BY attempted_at, id", params).fetchall()
    finally:
        conn.close()
    return [dict(r) for r in rows]


def get_attempt(attempt_id: int, db_path: Path | str | None = None) -> dict[str, Any]:
    """One attempt's row, with its stored report summary under ``summary``."""
    conn = connect(db_path, create=False)
    try:
        row = conn.execute("SELECT * FROM attempts WHERE id = ?", (attempt_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise UserError(f"no attempt {attempt_id} in the history (see `voice-interviewer history`)")
    out = dict(row)
    out["summary"] = json.loads(out.pop("summary_json") or "{}")
    return out


# --- the history command -------------------------------------------------------------------------


@dataclass
class HistoryOptions:
    scenario: str | None = None
    db: Path | None = None
    chart: Path | None = None  # .png, .svg or .pdf; default beside the database
    json: bool = False


def main(args) -> int:
    options = HistoryOptions(
        scenario=args.scenario,
        db=Path(args.db).expanduser() if args.db else None,
        chart=Path(args.chart).expanduser() if args.chart else None,
        json=bool(args.json),
    )
    db_path = options.db or default_db_path()
    if not db_path.is_file():
        print(f"no attempts recorded yet ({db_path} does not exist); score one with `voice-interviewer replay`")
        return 0

    rows = attempts(db_path, options.scenario)
    chart_path = None
    if rows:
        chart_path = write_chart(rows, options.chart or db_path.parent / CHART_NAME)

    if options.json:
        print(json.dumps({"attempts": [_public(r) for r in rows], "chart": str(chart_path) if chart_path else None},
                         indent=2, ensure_ascii=False))
    elif rows:
        print_table(rows, options.scenario)
        print(f"trend chart: {chart_path}")
    else:
        print(f"no attempts of scenario {options.scenario} in {db_path}")
    return 0


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "summary_json"}


def print_table(rows: list[dict[str, Any]], scenario_id: str | None) -> None:
    """One line per attempt, narrow enough for an 80-column terminal."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    scenarios = sorted({r["scenario_id"] for r in rows})
    one_scenario = len(scenarios) == 1
    table = Table(title=f"attempts at {scenarios[0]}" if one_scenario else "attempts", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("date", no_wrap=True)
    if not one_scenario:
        table.add_column("scenario", overflow="fold")
    table.add_column("seed", justify="right", no_wrap=True)
    table.add_column("mitigation", justify="right", no_wrap=True)
    for key in RUBRIC_KEYS:
        table.add_column(RUBRIC_SHORT[key], justify="right", no_wrap=True)
    table.add_column("source", overflow="fold")
    for r in rows:
        cells = [str(r["id"]), (r["attempted_at"] or "")[5:16].replace("T", " ")]
        if not one_scenario:
            cells.append(r["scenario_id"])
        cells += ["" if r["seed"] is None else str(r["seed"]), _latency_cell(r)]
        cells += ["–" if r[k] is None else str(r[k]) for k in RUBRIC_KEYS]
        cells.append(r["source_name"] or "")
        table.add_row(*cells)
    console = Console(soft_wrap=False)
    console.print(table)
    console.print("scores 0–4: " + ", ".join(f"{RUBRIC_SHORT[k]} = {k.replace('_', ' ')}" for k in RUBRIC_KEYS),
                  style="dim")


def _latency_cell(r: dict[str, Any]) -> str:
    if r["mitigation_latency_s"] is None:
        return "[red]none[/red]"
    colour = "green" if r["two_minute_verdict"] == "in_time" else "red"
    return f"[{colour}]{r['mitigation_latency_s']:.1f} s[/{colour}]"


def write_chart(rows: list[dict[str, Any]], path: Path) -> Path:
    """Mitigation latency against the mark, and the five scores, per attempt."""
    import matplotlib

    matplotlib.use("Agg", force=False)  # a file, never a window
    import matplotlib.pyplot as plt

    xs = list(range(1, len(rows) + 1))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    latencies = [r["mitigation_latency_s"] for r in rows]
    marks = [r["mark_s"] or DEFAULT_MARK_S for r in rows]
    top.plot([x for x, v in zip(xs, latencies) if v is not None], [v for v in latencies if v is not None],
             marker="o", color="#3b6ea8", label="time to first concrete mitigation")
    for x, v in zip(xs, latencies):
        if v is None:
            top.plot([x], [max(marks) * 1.1], marker="x", color="#dc2626", linestyle="none")
    top.step(xs, marks, where="mid", color="#dc2626", linestyle="--",
             label="two-minute line" if set(marks) == {120.0} else "mitigation mark")
    top.set_ylabel("seconds after the briefing")
    top.set_ylim(bottom=0)
    top.legend(loc="upper right", fontsize=8)
    top.set_title("voice-interviewer: progress over attempts")

    for i, key in enumerate(RUBRIC_KEYS):
        # Scores are small integers and often equal: nudge each line a little so none hides another.
        nudge = (i - 2) * 0.07
        values = [float("nan") if r[key] is None else r[key] + nudge for r in rows]
        bottom.plot(xs, values, marker=".", label=key.replace("_", " "))
    bottom.set_ylim(-0.3, 4.3)
    bottom.set_yticks(range(5))
    bottom.set_ylabel("score (0–4)")
    bottom.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), fontsize=7, ncol=3, frameon=False)
    bottom.set_xticks(xs, [f"#{r['id']}\n{(r['attempted_at'] or '')[5:10]}" for r in rows], fontsize=7)
    bottom.set_xlabel("attempt")
    for ax in (top, bottom):
        ax.grid(color="#e5e7eb", linewidth=0.6)
        ax.set_axisbelow(True)
    fig.tight_layout()

    try:
        _save_private(fig, path)
    finally:
        plt.close(fig)
    logger.info("history chart: %s (%d attempts)", path, len(rows))
    return path


def _save_private(fig, path: Path) -> None:
    """Save ``fig`` to ``path`` 0600: savefig(path) would create it 0644, readable by anyone.

    The format comes from the suffix, checked before the file is opened, so
    a bad --chart name leaves no empty file behind.
    """
    fmt = path.suffix.lower().lstrip(".") or "png"
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise UserError(f"{path}: cannot write a chart as .{fmt} (use one of: .{', .'.join(sorted(supported))})")
    if path.parent and not path.parent.exists():
        private_dir(path.parent)
    try:
        with open_private(path, "wb") as f:
            fig.savefig(f, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot write the chart ({exc})") from None
