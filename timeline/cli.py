"""The `timeline` command line: seed the store, serve the API, read the timeline."""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TextIO

import click
from eventsourcing.persistence import PersistenceError

from timeline.access import Scope, parse_duration
from timeline.application import Timeline
from timeline.audit import Head, LogFileError
from timeline.axes import AXES, WEEK, Axes, moment, query_day
from timeline.checkpoint import (
    CheckpointError,
    SigningKey,
    VerifierKey,
    default_origin,
    read_key,
    write_key,
)
from timeline.domain import InvalidInput, TimelineError
from timeline.feed import PAGE, LogFeed
from timeline.feed import follow as follow_log
from timeline.ingest import acled, gdelt
from timeline.ingest.bulk import IngestError, IngestReport
from timeline.ingest.bulk import ingest as ingest_rows
from timeline.merkle import ProofError
from timeline.progress import IMPORTED
from timeline.queries import dataset_values
from timeline.seeding import SeedError, bundled, existing, seed
from timeline.store import DEFAULT_STORE, StoreError
from timeline.vocabulary import Certainty, Kind, Stance, Status


def fail_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can cause into one line and exit status 1, never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (TimelineError, StoreError, SeedError, LogFileError, CheckpointError) as error:
            raise click.ClickException(str(error)) from None
        except PersistenceError as error:
            raise click.ClickException(f"the store failed: {error}") from None

    return wrapper


def analyze(app: Timeline, progress: Any = None) -> None:
    """Refresh the planner's statistics of the tables a bulk command filled: the log, its
    hashes and the read model. Without them (autovacuum off, or before its first run) the
    PostgreSQL planner guesses, and chose scans over the pair indexes; SQLite's planner uses
    them too."""
    # The view filled on the bulk path, so that the command leaves no backlog for a request to
    # find; its statistics are taken once it is full, before its pairs are outlined (or here,
    # when it had nothing left to apply).
    if not app.read_model.catch_up_bulk(progress=progress):
        app.read_model.view.analyze()
    recorder: Any = app.recorder
    with recorder.datastore.transaction(commit=True) as c:
        for name in (recorder.events_table_name, "event_hashes"):
            c.execute(f"ANALYZE {recorder.table(name)}")


@contextmanager
def opened(ctx: click.Context) -> Iterator[Timeline]:
    app = Timeline(ctx.obj["store"])
    try:
        yield app
    finally:
        app.close()


class UTCDateTime(click.ParamType):
    """An ISO 8601 moment with a time zone (`2026-01-01T00:00:00Z`); a bare date is the whole of
    that day, UTC, as over HTTP (see timeline.axes.moment)."""

    name = "timestamp"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return moment(value)
        except ValueError as error:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD) or an ISO 8601 timestamp with a"
                      f" zone such as 2026-01-01T00:00:00Z ({error})")


class WorldDate(click.ParamType):
    name = "date"

    def convert(self, value: Any, param: Any, ctx: Any) -> date:
        if isinstance(value, date):
            return value
        try:
            return query_day(value)
        except ValueError as error:
            if WEEK.match(value):
                self.fail(str(error))
            self.fail(f"{value!r} is not a date in the form YYYY-MM-DD")


AXIS_OPTIONS = {
    "as_of": click.option("--as-of", type=WorldDate(), help=(
        "World time: the world on this date, each development with the status in force then.")),
    "reported_by": click.option("--reported-by", type=WorldDate(), help=(
        "Knowledge time: only what sources had reported by this date.")),
    "known_at": click.option("--known-at", type=UTCDateTime(), help=(
        "Record time: only what this store had recorded by this moment (a bare date: the"
        " end of that day, UTC).")),
}


def time_axes(*names: str) -> Callable[[Any], Any]:
    """The options of the time axes a command takes (see timeline.axes), given to it as one
    `axes` argument."""
    def decorate(command: Any) -> Any:
        @wraps(command)
        def with_axes(*args: Any, **kwargs: Any) -> Any:
            kwargs["axes"] = Axes(**{name: kwargs.pop(name, None) for name in AXES})
            return command(*args, **kwargs)
        for name in reversed(names):
            with_axes = AXIS_OPTIONS[name](with_axes)
        return with_axes
    return decorate


class Datasets(click.ParamType):
    """Dataset names, comma-separated (`seed,gdelt`), as the API's `dataset`."""

    name = "datasets"

    def convert(self, value: Any, param: Any, ctx: Any) -> list[str]:
        if isinstance(value, list):
            return value
        if not value:
            return []  # the default: every dataset
        try:
            return dataset_values(name.strip() for name in str(value).split(","))
        except InvalidInput as error:
            self.fail(error.message)


dataset_option = click.option("--dataset", "datasets", type=Datasets(), default="", help=(
    "Only developments from these datasets, comma-separated: seed, manual (recorded by hand),"
    " gdelt, acled. Default: all."))


def choice_of(enum: Any) -> click.Choice:
    return click.Choice([member.value for member in enum])


# --- progress: bars on a terminal, a summary line elsewhere, nothing under --quiet -----------

quiet_option = click.option(
    "-q", "--quiet", is_flag=True,
    help="Print no progress bar and no summary: only errors (the exit status tells the rest).",
)


class Bars:
    """The bars a long command draws on a terminal's standard error, one per step the core
    reports (see timeline.progress): done/total, the rate per second and the time left."""

    def __init__(self, file: TextIO) -> None:
        self.file = file
        self.expected: dict[str, int] = {}  # totals the command knows and the core does not
        self.step: str | None = None
        self.bar: Any = None
        self.drawing = ExitStack()

    def expect(self, step: str, total: int | None) -> None:
        """The total of a step the core reports without one (a file's events, counted here)."""
        if total is not None:
            self.expected[step] = total

    def __call__(self, step: str, done: int, total: int | None) -> None:
        total = self.expected.get(step) if total is None else total
        if step != self.step:
            self.close()
            self.step = step
            self.bar = click.progressbar(
                # With no total, a bar of unknown length (click needs an unsized iterable).
                itertools.count() if total is None else None, length=total, label=step,
                file=self.file, show_pos=True, show_eta=False, width=0,
                item_show_func=self.rate_and_eta,
            )
            self.drawing.enter_context(self.bar)  # draws it: rate_and_eta reads self.bar
        bar = self.bar
        if bar.length is not None and max(total or 0, done) > bar.length:
            bar.length = max(total or 0, done)  # more than expected: events recorded meanwhile
        bar.update(done - bar.pos)

    def rate_and_eta(self, _item: Any) -> str | None:
        bar = self.bar
        elapsed = time.time() - bar.start
        if not bar.pos or elapsed <= 0:
            return None
        shown = f"{bar.pos / elapsed:,.0f}/s"
        if bar.eta_known and not bar.finished:
            shown += f"  ETA {bar.format_eta()}"
        return shown

    def close(self) -> None:
        """End the current bar's line, so that what is printed next starts on its own."""
        self.drawing.close()
        self.bar = self.step = None


@contextmanager
def progress_shown(quiet: bool, data_on_stdout: bool = False) -> Iterator[Bars | None]:
    """Bars while the command runs when standard error is a terminal; None (the core then
    reports to no one) under --quiet, when standard error is a pipe, a file or a CI log, and
    when the command's data goes to standard output and that is the same terminal."""
    if quiet or not sys.stderr.isatty() or (data_on_stdout and sys.stdout.isatty()):
        yield None
        return
    bars = Bars(sys.stderr)
    try:
        yield bars
    finally:
        bars.close()


def summary(quiet: bool, message: str, err: bool = False) -> None:
    """The line a command ends with, unless --quiet."""
    if not quiet:
        click.echo(message, err=err)


@contextmanager
def closed_pipe_is_done() -> Iterator[None]:
    """Output cut short by its reader (`timeline relationships | head -1`) ends quietly with
    status 0: the reader had what it wanted, and click alone would exit 1."""
    try:
        yield
    except BrokenPipeError:
        # The interpreter flushes stdout on exit, and would hit the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise click.exceptions.Exit(0) from None


class TimelineGroup(click.Group):
    """The root command: a closed pipe ends any command quietly, whether it was printing its
    results or its --help and --version (printed while the arguments are parsed)."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with closed_pipe_is_done():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with closed_pipe_is_done():
            return super().invoke(ctx)


@click.group(cls=TimelineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    envvar="TIMELINE_STORE",
    default=DEFAULT_STORE,
    show_default=True,
    help="Event store: sqlite:///path.db or memory:// (also from TIMELINE_STORE).",
)
@click.version_option(package_name="timeline")
@click.pass_context
def main(ctx: click.Context, store: str) -> None:
    """Timeline: an event-sourced record of how relationships between states, leaders and
    institutions develop."""
    ctx.ensure_object(dict)
    ctx.obj["store"] = store


def seed_data(path: Path | None) -> AbstractContextManager[Path]:
    """The seed path given, which must exist, or the seed data shipped with Timeline."""
    return bundled() if path is None else nullcontext(existing(path))


@main.command("seed")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@quiet_option
@click.pass_context
@fail_cleanly
def seed_command(ctx: click.Context, path: Path | None, quiet: bool) -> None:
    """Load the seed files in PATH (default: the seed data shipped with Timeline) into the store.

    Idempotent: entries already loaded record nothing; an entry edited since it was loaded is
    recorded as a correction.
    """
    with seed_data(path) as directory, opened(ctx) as app:
        with progress_shown(quiet) as progress:
            report = seed(app, directory, progress)
            analyze(app, progress)
        summary(quiet, f"Seeded from {directory}: {report}.")
        summary(quiet, f"The store holds {app.audit.count()} events.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes, each with its own application.")
@click.option("--threads", default=64, show_default=True, type=click.IntRange(9, 4096),
              help="Threads per worker: each open stream (/events/stream, .../stream) holds "
                   "one, and 8 are kept for other requests.")
@click.option("--seeds", type=click.Path(path_type=Path),
              help="Seed files loaded first when the store is empty (default: the seed data "
                   "shipped with Timeline).")
@click.option("--debug", is_flag=True,
              help="Run Flask's development server instead, with its debugger and reloader: "
                   "for development on this machine only.")
@click.pass_context
@fail_cleanly
def serve(
    ctx: click.Context, host: str, port: int, workers: int, threads: int, seeds: Path | None,
    debug: bool,
) -> None:
    """Serve the HTTP API with gunicorn.

    An empty store is seeded first, so a fresh machine serves the seed data at once.
    """
    if debug and workers > 1:
        raise click.BadOptionUsage("--debug", "--debug runs one process: leave out --workers")
    with seed_data(seeds) as directory, opened(ctx) as app:
        if app.audit.count() == 0:
            click.echo(f"Empty store: seeded from {directory}: {seed(app, directory)}.")
    # Flask and gunicorn are needed only here.
    from api.server import AddressUnavailable, Server, check_address

    try:
        # Not in the debug reloader's child process: its parent holds the port already.
        if not os.environ.get("WERKZEUG_RUN_MAIN"):
            check_address(host, port)
    except AddressUnavailable as error:
        raise click.ClickException(str(error)) from None
    if debug:
        from api import create_app

        create_app({"STORE": ctx.obj["store"]}).run(host=host, port=port, debug=True)
    else:
        Server(ctx.obj["store"], host, port, workers, threads).run()


@main.command()
@click.option("--actor", "actors", multiple=True, help="Only developments involving this actor id (repeatable).")
@click.option("--kind", type=choice_of(Kind), help="Only this kind of development.")
@click.option("--status", type=choice_of(Status), help="Only this status.")
@click.option("--certainty", type=choice_of(Certainty), help="Only this certainty.")
@click.option("--from", "start", type=WorldDate(), help="World date: periods ending on or after it.")
@click.option("--to", "end", type=WorldDate(), help="World date: periods starting on or before it.")
@dataset_option
@time_axes("as_of", "reported_by", "known_at")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
@fail_cleanly
def developments(
    ctx: click.Context,
    actors: tuple[str, ...],
    kind: str | None,
    status: str | None,
    certainty: str | None,
    start: date | None,
    end: date | None,
    datasets: list[str],
    axes: Axes,
    as_json: bool,
) -> None:
    """The timeline of developments in world-date order, with their sources, on the time axes
    (as of a date, each with the status in force then)."""
    with opened(ctx) as app:
        found = app.list_developments(
            actors=actors,
            kind=kind and Kind(kind),
            status=status and Status(status),
            certainty=certainty and Certainty(certainty),
            start=start,
            end=end,
            datasets=datasets,
            axes=axes,
        )
    echo_all(found, as_json, format_development, "No developments match.")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
@fail_cleanly
def actors(ctx: click.Context, as_json: bool) -> None:
    """The registered actors."""
    with opened(ctx) as app:
        found = app.list_actors()
    echo_all(found, as_json, format_actor, "No actors are registered.")


@main.command()
@time_axes("as_of", "reported_by", "known_at")
@click.option("--actor", help="Only the pairs of this actor id.")
@click.option("--stance", type=choice_of(Stance), help="Only pairs with this stance.")
@dataset_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
@fail_cleanly
def relationships(
    ctx: click.Context,
    axes: Axes,
    actor: str | None,
    stance: str | None,
    datasets: list[str],
    as_json: bool,
) -> None:
    """The state of each relationship on the time axes: stance, score, ties and the
    developments behind them, each with its contribution to the score."""
    with opened(ctx) as app:
        found = app.list_relationships(actor=actor, stance=stance and Stance(stance), axes=axes,
                                       datasets=datasets)
    echo_all(found, as_json, format_relationship, "No relationships match.")


@main.command()
@click.option("--until", type=WorldDate(), required=True,
              help="Replay up to this date (with --by reported: the day of the last report).")
@click.option("--from", "start", type=WorldDate(), help="Show steps from this date on.")
@click.option("--pair", help="Only this pair: two actor ids, comma-separated (china,russia).")
@click.option("--by", "order", type=click.Choice(["happened", "reported"]), default="happened",
              show_default=True,
              help="happened: in world-date order; reported: as the news arrived.")
@time_axes("reported_by", "known_at")
@dataset_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
@fail_cleanly
def replay(
    ctx: click.Context,
    until: date,
    start: date | None,
    pair: str | None,
    order: str,
    axes: Axes,
    datasets: list[str],
    as_json: bool,
) -> None:
    """The steps that built the relationships, in world-date order or as the news arrived:
    which development changed which pair, and what changed."""
    pair_ids = None
    if pair is not None:
        pair_ids = tuple(part.strip() for part in pair.split(","))
        if len(pair_ids) != 2 or not all(pair_ids):
            raise click.BadParameter("give two actor ids separated by a comma", param_hint="--pair")
    with opened(ctx) as app:
        steps = app.replay(until=until, start=start, pair=pair_ids, order=order, axes=axes,
                           datasets=datasets)
    echo_all(steps, as_json, format_step, "Nothing happened in that period.")


@main.command()
@click.option("--rebuild", is_flag=True, help="Throw the read model away and rebuild it from the first event.")
@quiet_option
@click.pass_context
@fail_cleanly
def project(ctx: click.Context, rebuild: bool, quiet: bool) -> None:
    """Bring the read model up to date with the event log (queries also do this themselves)."""
    with opened(ctx) as app:
        with progress_shown(quiet) as progress:
            if rebuild:
                applied = app.read_model.rebuild(progress=progress)
            else:
                applied = app.read_model.catch_up(progress=progress)
                app.read_model.outline_pairs(progress=progress, after_bulk=applied > 0)
        if rebuild:
            analyze(app)
        verb = "Rebuilt the read model from" if rebuild else "Applied"
        summary(quiet, f"{verb} {applied} events; lag now {app.read_model.lag()}.")


@main.group()
def ingest() -> None:
    """Ingest event datasets (GDELT 2.0, ACLED) beside the seed data; see docs/ingest.md.

    Idempotent: a record already ingested records nothing (an ACLED record revised since is
    recorded as a correction). Bad rows are reported as FILE:LINE: reason and skipped.
    """


strict_option = click.option(
    "--strict", is_flag=True,
    help="Stop at the first bad row, recording nothing from its file (default: skip and report).",
)


def ingest_files(ctx: click.Context, dataset: str, paths: list[Path], strict: bool,
                 quiet: bool) -> None:
    """Ingest each file through its dataset's reader; bad rows go to standard error."""
    if not paths:
        raise click.ClickException(f"no {dataset} files to ingest")
    reader = {"gdelt": gdelt.rows, "acled": acled.rows}[dataset]
    total = IngestReport()
    with opened(ctx) as app, progress_shown(quiet) as progress:
        for path in paths:
            try:
                report = ingest_rows(app, reader(path), strict=strict, progress=progress,
                                     recorded_by=dataset)
            except IngestError as error:
                raise click.ClickException(str(error)) from None
            if progress is not None:
                progress.close()
            for bad in report.skipped:
                click.echo(str(bad), err=True)
            summary(quiet, f"{path}: {report}.")
            total.recorded += report.recorded
            total.corrected += report.corrected
            total.unchanged += report.unchanged
            total.actors_registered += report.actors_registered
            total.skipped += report.skipped
        view_in_bulk(app, progress)
        analyze(app, progress)
    if len(paths) > 1:
        summary(quiet, f"In all: {total}.")


# Events applied per view transaction after an ingest: long runs, as a rebuild's (1.7 times
# the rate of the usual runs of 500 after 20,000 GDELT rows), yet short enough (about a second)
# that a server reading meanwhile does not wait long for the view.
INGEST_VIEW_BATCH = 5000


def view_in_bulk(app: Timeline, progress: Any = None) -> None:
    """Bring the view up to date after an ingest in bulk runs (see ReadModel.rebuild)."""
    app.read_model.catch_up_bulk(progress, INGEST_VIEW_BATCH)


def gdelt_files(paths: tuple[Path, ...], since: date | None, until: date | None) -> list[Path]:
    """The files given, and in each directory given its GDELT exports (named
    YYYYMMDDHHMMSS.export.CSV[.zip]) from `since` to `until`, in time order."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        for file in sorted(path.iterdir()):
            stamp = file.name[:8]
            if ".export." not in file.name.lower() or not stamp.isdigit():
                continue
            try:
                day = date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]))
            except ValueError:  # not a GDELT name (20241399...): say so, and go on
                click.echo(f"{file}: skipped, its name does not start with a day", err=True)
                continue
            if (since is None or day >= since) and (until is None or day <= until):
                found.append(file)
    return found


@ingest.command("gdelt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--since", type=WorldDate(),
              help="In a directory, only export files from this day (by their names) on.")
@click.option("--until", type=WorldDate(),
              help="In a directory, only export files up to this day (by their names).")
@strict_option
@quiet_option
@click.pass_context
@fail_cleanly
def ingest_gdelt(ctx: click.Context, paths: tuple[Path, ...], since: date | None,
                 until: date | None, strict: bool, quiet: bool) -> None:
    """Ingest GDELT 2.0 Events export files (.export.CSV, or .zip), or directories of them."""
    ingest_files(ctx, "gdelt", gdelt_files(paths, since, until), strict, quiet)


@ingest.command("acled")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@strict_option
@quiet_option
@click.pass_context
@fail_cleanly
def ingest_acled(ctx: click.Context, paths: tuple[Path, ...], strict: bool, quiet: bool) -> None:
    """Ingest ACLED CSV exports (with their header line; the current or the older layout)."""
    ingest_files(ctx, "acled", list(paths), strict, quiet)


@main.group()
def token() -> None:
    """Bearer tokens for the HTTP API: create, list and revoke them."""


class Duration(click.ParamType):
    """A span such as 90d, 12h or 2w."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(value)
        except TimelineError as error:
            self.fail(str(error), param, ctx)


@token.command("create")
@click.option("--name", required=True,
              help="Who or what uses it (a label): shown to admins beside what it writes.")
@click.option("--scope", type=choice_of(Scope), default=Scope.WRITE.value, show_default=True,
              help="read: read where reads need a token; write: also record and change; "
                   "admin: also see token labels in the log.")
@click.option("--expires", type=Duration(), metavar="DURATION",
              help="Stop working after this long: 90d, 12h, 2w (default: never).")
@click.pass_context
@fail_cleanly
def token_create(ctx: click.Context, name: str, scope: str, expires: timedelta | None) -> None:
    """Create a token and print it once: only its hash is kept."""
    with opened(ctx) as app:
        made, secret = app.access.issue(name, Scope(scope), expires)
    click.echo(secret)
    until = f", until {made.expires_at}" if made.expires_at else ""
    click.echo(f"Token {made.id} {name!r} created ({scope}{until}). Keep it now: it cannot "
               "be shown again.", err=True)


@token.command("list")
@click.pass_context
@fail_cleanly
def token_list(ctx: click.Context) -> None:
    """Every token, revoked ones too: id, name, scope, expiry and state."""
    with opened(ctx) as app:
        tokens = app.access.list_tokens()
    if not tokens:
        click.echo("No tokens. Create one with: timeline token create --name NAME")
    now = datetime.now(UTC)
    for entry in tokens:
        state = entry.state(now)
        if state == "revoked":
            state = f"revoked {entry.revoked_at}"
        expires = f"expires {entry.expires_at}" if entry.expires_at else "no expiry"
        click.echo(f"{entry.id}  {entry.label:<24} {entry.scope:<5}  created {entry.created_at}"
                   f"  {expires}  {state}")


@token.command("revoke")
@click.argument("name")
@click.pass_context
@fail_cleanly
def token_revoke(ctx: click.Context, name: str) -> None:
    """Revoke at once the token with this id, or the unrevoked one with this name. The record
    stays (what it wrote keeps naming it), and the name may be given to a new token."""
    with opened(ctx) as app:
        revoked = app.access.revoke_token(name)
    click.echo(f"Token {revoked.id} {revoked.label!r} revoked.")


@main.command("verify")
@click.option("--head", "kept", metavar="POSITION:HASH",
              help="A head kept earlier (from `timeline verify` or /api/v1/audit/head): also "
                   "prove the log still extends it.")
@click.option("--checkpoint", "kept_checkpoint", type=click.Path(dir_okay=False, path_type=Path),
              help="A signed checkpoint kept earlier (`timeline checkpoint`, "
                   "/api/v1/audit/checkpoint): check its signature, then that the log extends "
                   "it, from a consistency proof alone (the chain is not re-read).")
@click.option("--key", "verifier", metavar="KEY|FILE",
              help="With --checkpoint: the verifier key (text or a file holding it, as "
                   "/api/v1/audit/key gives it); default: TIMELINE_SIGNING_KEY's public half.")
@quiet_option
@click.pass_context
@fail_cleanly
def verify_command(ctx: click.Context, kept: str | None, kept_checkpoint: Path | None,
                   verifier: str | None, quiet: bool) -> None:
    """Recompute the hash chain of the whole log. Exit 0 only when it is intact.

    A chain that is not intact is reported on standard error, even with --quiet."""
    if kept_checkpoint is not None:
        check_checkpoint(ctx, kept_checkpoint, verifier, quiet)
        return
    try:
        head = Head.parse(kept) if kept else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--head") from None
    with opened(ctx) as app, progress_shown(quiet) as progress:
        result = app.audit.verify(head, progress=progress)
    if result.ok:
        last = result.head
        summary(quiet, f"Intact: {result.checked} events verified.")
        if last:
            summary(quiet, f"Head: {last['position']}:{last['hash']}")
        if head:
            summary(quiet, f"The log still extends the kept head {head.position}:{head.hash}.")
        return
    click.echo(
        f"NOT INTACT at position {result.first_bad_position}: {result.reason}"
        f" ({result.checked} events verified before it).",
        err=True,
    )
    ctx.exit(1)


def check_checkpoint(ctx: click.Context, path: Path, verifier: str | None, quiet: bool) -> None:
    try:
        note = path.read_text(encoding="utf-8")
    except OSError as error:
        raise click.BadParameter(f"{path}: {error.strerror}", param_hint="--checkpoint") from None
    if verifier is None:
        configured = os.environ.get("TIMELINE_SIGNING_KEY")
        if not configured:
            raise click.UsageError("give --key (the verifier key) or set TIMELINE_SIGNING_KEY")
        key = read_key(Path(configured)).verifier
    else:
        text = Path(verifier).read_text(encoding="utf-8") if os.path.isfile(verifier) else verifier
        key = VerifierKey.parse(text)
    with opened(ctx) as app:
        try:
            found = app.audit.check_checkpoint(note, key)
        except ProofError as error:
            click.echo(f"NOT CONSISTENT with the checkpoint: {error}.", err=True)
            ctx.exit(1)
    summary(quiet, f"Consistent: the log at size {found['to']} extends the checkpoint of "
                   f"{found['origin']} at size {found['from']}.")


@main.group()
def key() -> None:
    """Signing keys for the transparency log's checkpoints."""


@key.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", help="The key's name, shown in each signature (default: the origin, "
                             "TIMELINE_ORIGIN or the host name).")
@fail_cleanly
def key_create(path: Path, name: str | None) -> None:
    """Write a new Ed25519 signer key to PATH (mode 0600, never over an existing file) and
    print its verifier key, to publish. Point TIMELINE_SIGNING_KEY at PATH."""
    signing = SigningKey.generate(name or default_origin())
    try:
        write_key(path, signing)
    except FileExistsError:
        raise click.ClickException(f"{path} exists: a key is never overwritten") from None
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror}") from None
    click.echo(signing.verifier)


@main.command("checkpoint")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default="-", help="File to write (default: standard output).")
@click.option("--key", "key_path", envvar="TIMELINE_SIGNING_KEY", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The signer key file (also from TIMELINE_SIGNING_KEY).")
@click.option("--origin", envvar="TIMELINE_ORIGIN", help="The log's name on the first line "
              "(also from TIMELINE_ORIGIN; default: the host name).")
@click.pass_context
@fail_cleanly
def checkpoint_command(ctx: click.Context, output: Path, key_path: Path,
                       origin: str | None) -> None:
    """Write the current tree as a signed checkpoint: keep it, and check the log against it
    later with `timeline verify --checkpoint`."""
    signing = read_key(key_path)
    with opened(ctx) as app:
        note = app.audit.checkpoint(signing, origin or default_origin())
    with click.open_file(str(output), "w", encoding="utf-8") as out:
        out.write(note)


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["ndjson", "csv"]), default="ndjson",
              show_default=True, help="One JSON object per line, or CSV with a header.")
@click.option("--after", type=click.IntRange(min=0), default=0, show_default=True,
              help="Only events after this position.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default="-", help="File to write (default: standard output). It is replaced only "
                                "once the export is complete.")
@quiet_option
@click.pass_context
@fail_cleanly
def export_command(ctx: click.Context, fmt: str, after: int, output: Path, quiet: bool) -> None:
    """Write the raw log with its hashes, streaming (constant memory at any size)."""
    to_stdout = str(output) == "-"
    destination = (
        click.open_file("-", "w", encoding="utf-8") if to_stdout else written_whole(output)
    )
    with (
        opened(ctx) as app,
        progress_shown(quiet, data_on_stdout=to_stdout) as progress,
        destination as out,
    ):
        count = app.audit.export(out, fmt, after, progress=progress)
    summary(quiet, f"Exported {count} events.", err=True)


@contextmanager
def written_whole(target: Path) -> Iterator[TextIO]:
    """A file that takes the place of `target` only once it is complete.

    It is written under a temporary name in the same folder (a rename within one file system
    is atomic), flushed to disk, then renamed over `target`. If anything fails first, the
    temporary file is removed and `target` is as it was: never half-written, never a stray
    part file beside it. The file gets the mode `target` had, or the usual one for a new file.
    """
    try:
        descriptor, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as error:
        raise click.FileError(str(target), hint=error.strerror) from None
    part = Path(name)
    try:
        with open(descriptor, "w", encoding="utf-8") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(part, mode_for(target))
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def mode_for(target: Path) -> int:
    """The permissions a replaced file keeps, or what open() gives a new one under the umask
    (a temporary file starts private, 0600)."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@main.command()
@click.option("-f", "--follow", is_flag=True,
              help="Keep printing events as they are recorded, until Ctrl-C.")
@click.option("--after", type=click.IntRange(min=0),
              help="Start after this position (default: the last 10 positions of the log).")
@click.pass_context
@fail_cleanly
def tail(ctx: click.Context, follow: bool, after: int | None) -> None:
    """Print the log one line per event: position, recorded at, type, stream id, recorded by.

    Tab-separated, so that `cut` and `awk` take it apart; `--follow` waits for new events
    (LISTEN/NOTIFY on PostgreSQL, polling on SQLite) and prints each as it is recorded.
    """
    with opened(ctx) as app:
        start = after if after is not None else max(app.audit.count() - 10, 0)
        if not follow:
            while found := app.audit.events(after=start, limit=PAGE):
                for event in found:
                    click.echo(format_event(event))
                start = found[-1]["position"]
            return
        feed = LogFeed(app.audit, app.recorder.subscribe)
        try:
            for run in follow_log(feed, start, idle=3600):
                for event in run:
                    click.echo(format_event(event))
        except KeyboardInterrupt:
            pass  # Ctrl-C is how a follow ends
        finally:
            feed.close()


@main.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--format", "fmt", type=click.Choice(["ndjson", "csv"]),
              help="The file's format (default: from its extension, else ndjson).")
@quiet_option
@click.pass_context
@fail_cleanly
def import_command(ctx: click.Context, file: Any, fmt: str | None, quiet: bool) -> None:
    """Load an exported log into an empty store: the same positions and the same hashes.
    A file whose chain does not verify is refused, and nothing is written."""
    fmt = fmt or ("csv" if file.name.endswith(".csv") else "ndjson")
    with opened(ctx) as app:
        with progress_shown(quiet) as progress:
            if progress is not None:
                progress.expect(IMPORTED, events_in(file.name, fmt))
            count = app.audit.import_log(file, fmt, progress=progress)
            analyze(app, progress)
        head = app.audit.head()
        summary(quiet, f"Imported {count} events; head {head['position']}:{head['hash']}.")


def events_in(name: str, fmt: str) -> int | None:
    """How many events an exported file holds, from its lines (one per event, and a header in
    CSV), for the bar's total: a second read at disk speed. None for standard input."""
    path = Path(name)
    if name == "-" or not path.is_file():
        return None
    with path.open("rb") as raw:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: raw.read(1 << 20), b""))
    return max(lines - 1, 0) if fmt == "csv" else lines


@main.command()
@click.option("--developments", "size", type=click.IntRange(1), required=True,
              help="How many developments to record.")
@click.option("--actors", type=click.IntRange(2), default=200, show_default=True,
              help="How many actors, of every kind.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="The same seed gives the same history.")
@click.option("--batch", type=click.IntRange(1), default=1000, show_default=True,
              help="Developments recorded per transaction.")
@quiet_option
@click.pass_context
@fail_cleanly
def synth(ctx: click.Context, size: int, actors: int, seed: int, batch: int, quiet: bool) -> None:
    """Fill the store with a realistic synthetic history (for benchmarks and trials)."""
    from timeline.synth import Synthesizer, run

    with opened(ctx) as app:
        with progress_shown(quiet) as progress:
            report = run(app, Synthesizer(size, actors, seed), batch, progress)
            analyze(app, progress)
        summary(quiet, f"Recorded {report}.")


@main.command()
@click.pass_context
@fail_cleanly
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the store's schema, tables, indexes and triggers, bring the read
    model up to date and refresh the planner's statistics (ANALYZE), then exit.

    Every command also does this when it opens the store; run it once before starting
    several processes together, so that they do not race to create the same tables.
    """
    with opened(ctx) as app:
        analyze(app)
        click.echo(
            f"The store is ready: {app.audit.count()} events,"
            f" read-model lag {app.read_model.lag()}."
        )


@main.command()
@click.pass_context
@fail_cleanly
def worker(ctx: click.Context) -> None:
    """Keep the read model of a PostgreSQL store current, following LISTEN/NOTIFY.

    Resumes after the last event it applied; when its database connections drop, it
    reconnects with back-off (0.5 s, doubling up to 30 s) and logs each attempt; stops
    cleanly on SIGTERM or Ctrl-C.
    """
    from timeline.worker import run

    click.echo("Projection worker starting.", err=True)
    run(
        ctx.obj["store"],
        on_ready=lambda lag: click.echo(
            f"Following the log; caught up from a lag of {lag} events.", err=True),
        on_retry=lambda attempt, delay, error: click.echo(
            f"Connection lost ({one_line(error)}); reconnecting in {delay:g} s"
            f" (attempt {attempt}).", err=True),
    )
    click.echo("Projection worker stopped.", err=True)


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def echo_all(
    found: list[dict[str, Any]], as_json: bool, formatter: Callable[[Any], str], empty: str
) -> None:
    """Print query results as JSON, or as text one result at a time."""
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
    elif not found:
        click.echo(empty)
    for result in [] if as_json else found:
        click.echo(formatter(result))


def format_event(event: dict[str, Any]) -> str:
    return "\t".join(str(event[name] or "-") for name in (
        "position", "recorded_at", "type", "stream_id", "recorded_by"))


def format_actor(actor: dict[str, Any]) -> str:
    belongs = f" (of {', '.join(actor['belongs_to'])})" if actor["belongs_to"] else ""
    return f"{actor['id']:<20} {actor['kind']:<13} {actor['name']}{belongs}"


def format_relationship(r: dict[str, Any]) -> str:
    lines = [f"{r['pair'][0]} – {r['pair'][1]}: {r['stance']} (score {r['score']:+.2f})"]
    for tie in r["ties"]:
        arrow = "↔" if tie["mutual"] else "→"
        period = f"since {tie['since']}" + (f" until {tie['until']}" if tie["until"] else "")
        items = f" [{', '.join(tie['items'])}]" if tie["items"] else ""
        lines.append(
            f"  tie {tie['kind']}: {tie['from']} {arrow} {tie['to']}, {period},"
            f" {tie['certainty']}{items}"
        )
        lines.append(f"      from developments {', '.join(d[:8] for d in tie['developments'])}")
    for development in r["developments"]:
        lines.append(
            f"  {development['date']:<11} {development['kind']:<17} {development['summary']}"
            f" ({development['id'][:8]}; {development['contribution']:+.2f})"
        )
        lines += [f"{'':<31}{format_source(s)}" for s in development["sources"]]
    for expected in r["expected"]:
        lines.append(
            f"  expected for {expected['planned_for']}: {expected['summary']}"
            f" ({expected['id'][:8]})"
        )
    for possible in r["possible"]:
        lines.append(f"  possible, not yet certain: {possible['summary']} ({possible['id'][:8]})")
    return "\n".join(lines) + "\n"


def format_step(step: dict[str, Any]) -> str:
    d = step["development"]
    changes = []
    changes += [f"opens {kind} {a}→{b}" for kind, a, b in step["ties_opened"]]
    changes += [f"closes {kind} {a}→{b}" for kind, a, b in step["ties_closed"]]
    if step["stance"]["from"] != step["stance"]["to"]:
        changes.append(f"stance {step['stance']['from']} → {step['stance']['to']}")
    if step["score"]["from"] != step["score"]["to"]:
        changes.append(f"score {step['score']['from']:+.2f} → {step['score']['to']:+.2f}")
    what = "; ".join(changes) or "no change to ties, stance or score"
    if step["event"] == "reported":
        moved = step["standing"]
        verb = f"reported (version {step['version']}, {moved['from'] or 'not listed'} → " \
               f"{moved['to'] or 'not listed'}): "
    else:
        verb = {"counts": "", "ends": "ended: ", "expected": "expected: ",
                "possible": "possible: ", "withdrawn": "withdrawn: "}[step["event"]]
    return "\n".join(
        [
            f"{step['date']}  {step['pair'][0]} – {step['pair'][1]}  {verb}{d['summary']}",
            f"            {d['kind']}, dated {d['date']} ({d['id'][:8]}): {what}",
            *(f"            {format_source(s)}" for s in d["sources"]),
        ]
    )


def format_source(source: dict[str, Any]) -> str:
    return f"source: {source['publication']} — {source['attribution']}"


def format_date(value: dict[str, Any] | None) -> str:
    if value is None:
        return ""
    return ("~" if value["approximate"] else "") + value["value"]


def format_development(d: dict[str, Any]) -> str:
    status = d["status"] + (f" for {format_date(d['planned_for'])}" if d["planned_for"] else "")
    if d.get("standing"):
        status += f" ({d['standing']})"
    lines = [
        f"{format_date(d['date']):<12} {d['summary']}",
        f"{'':<12} {d['kind']} · {status} · {d['certainty']}"
        + (f" · {d['place']}" if d["place"] else ""),
        f"{'':<12} actors: "
        + ", ".join(f"{p['actor']} ({p['role']})" for p in d["actors"]),
    ]
    if d["items"]:
        lines.append(f"{'':<12} items: {', '.join(d['items'])}")
    if d["quote"]:
        lines.append(f"{'':<12} quote: “{d['quote']}”")
    if d["date"]["derivation"]:
        lines.append(f"{'':<12} date: {d['date']['derivation']}")
    for source in d["sources"]:
        lines.append(
            f"{'':<12} source: {source['publication']}, {format_date(source['reported_on'])}"
            f" — {source['attribution']}"
        )
    provenance = d.get("provenance")
    if provenance:
        lines.append(f"{'':<12} from: {provenance['dataset']} record {provenance['record_id']},"
                     f" {provenance['file']}:{provenance['line']}")
    lines.append(f"{'':<12} id: {d['id']} (version {d['version']})")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
