"""Ingest speed: rows/s of `timeline ingest gdelt` beside a raw insert of the same events.

    python benchmarks/ingest.py                      # 20,000 rows, SQLite file
    python benchmarks/ingest.py --count 200000       # about a day of GDELT
    python benchmarks/ingest.py --postgres postgresql://postgres@127.0.0.1:5432/test

A synthetic GDELT-shaped export (61 columns, CAMEO codes over all 20 roots, a few hundred
actor codes, heavy-tailed) is written to a temporary file. The ingest is timed from the file to
the last batch committed (parsing, actor registration, idempotence checks, batched saves);
then, apart, the view brought up to date as the command does at its end. The baseline, in the
same round, saves the same developments, already built, into a fresh store in batches of the
same size, with no reading of the file and no checks: the cost of the events alone. A second
ingest of the file (everything already there) is timed too. Each of `--rounds` rounds does all
of this on fresh stores; it prints the medians of the rates and of each round's ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from uuid import uuid4

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timeline.application import Timeline
from timeline.cli import analyze, view_in_bulk
from timeline.domain import Development, development_id
from timeline.ingest import gdelt
from timeline.ingest.bulk import BATCH, Row, ingest
from timeline.vocabulary import CAMEO_KINDS, Status

COUNTRIES = ["RUS", "CHN", "USA", "UKR", "IRN", "PRK", "FRA", "DEU", "GBR", "IND", "TUR", "POL"]
ROLES = ["", "GOV", "MIL", "BUS", "MED", "COP", "OPP"]


def synthetic_export(path: Path, count: int, seed: int = 1) -> None:
    """`count` lines as GDELT lays them out, written from the codebook's columns."""
    rng = random.Random(seed)
    codes = sorted(CAMEO_KINDS)
    weights = [1 / rank for rank in range(1, len(COUNTRIES) * len(ROLES) + 1)]
    actors = [(c + r, c) for c in COUNTRIES for r in ROLES]
    with path.open("w", encoding="utf-8") as file:
        for number in range(count):
            (code1, country1), (code2, country2) = rng.choices(actors, weights, k=2)
            event = rng.choice(codes)
            event = event if len(event) == 3 else f"{event}0"
            day = f"2024{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            columns = [str(1_180_000_000 + number), day, day[:6], day[:4], "2024.5"]
            for code, country in ((code1, country1), (code2, country2)):
                columns += [code, code, country, "", "", "", "", "", "", ""]
            columns += ["1", event, event[:3], event[:2], "1", "2.8", "4", "2", "4", "-1.5"]
            for _ in range(3):
                columns += ["4", "Kyiv, Ukraine", "UP", "UP12", "", "50.45", "30.52", "-1"]
            columns += ["20241231234500", f"https://news.example.org/{number}"]
            file.write("\t".join(columns) + "\n")


SCHEMAS: list[str] = []  # created by this run, dropped at its end


def store_url(directory: str, postgres: str | None) -> str:
    if postgres:
        import psycopg

        schema = f"ingest_bench_{uuid4().hex[:12]}"
        with psycopg.connect(postgres, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        SCHEMAS.append(schema)
        return f"{postgres}?schema={schema}"
    return f"sqlite:///{directory}/{uuid4().hex}.db"


class Round:
    """The rates (rows/s) of one round, each measured on fresh stores."""

    def __init__(self, export: Path, count: int, directory: str, postgres: str | None) -> None:
        app = Timeline(store_url(directory, postgres))
        started = time.perf_counter()
        report = ingest(app, gdelt.rows(export), recorded_by="gdelt")
        self.ingest = count / (time.perf_counter() - started)
        started = time.perf_counter()
        view_in_bulk(app)  # what `timeline ingest` does last: the view brought up to date
        analyze(app)
        self.view = count / (time.perf_counter() - started)
        started = time.perf_counter()
        again = ingest(app, gdelt.rows(export), recorded_by="gdelt")
        self.again = count / (time.perf_counter() - started)
        assert report.recorded == again.unchanged == count, (report, again)
        app.close()

        rows = [row for row in gdelt.rows(export) if isinstance(row, Row)]
        baseline = Timeline(store_url(directory, postgres))
        for actor in dict.fromkeys(actor for row in rows for actor in row.actors):
            baseline.register_actor(actor.actor_id, actor.name, actor.kind, actor.aliases,
                                    actor.belongs_to)
        developments = [
            Development(id=development_id(row.key), content=row.content,
                        status=Status.OCCURRED, key=row.key, recorded_by="gdelt",
                        provenance=row.provenance)
            for row in rows
        ]
        started = time.perf_counter()
        for start in range(0, len(developments), BATCH):
            baseline.save(*developments[start:start + BATCH])
        self.raw = count / (time.perf_counter() - started)
        baseline.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="Rows in the export.")
    parser.add_argument("--rounds", type=int, default=1, help="Rounds; medians are printed.")
    parser.add_argument("--postgres", help="A PostgreSQL URL; default: SQLite files.")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    rounds = []
    try:
        with tempfile.TemporaryDirectory() as directory:
            export = Path(directory) / "20241231234500.export.CSV"
            synthetic_export(export, args.count)
            for _ in range(args.rounds):
                rounds.append(Round(export, args.count, directory, args.postgres))
    finally:
        if args.postgres:
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as connection:
                for schema in SCHEMAS:
                    connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def median(name: str) -> float:
        return statistics.median(getattr(r, name) for r in rounds)

    store = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{args.count} GDELT rows on {store}, median of {args.rounds} round(s);"
          f" {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}:")
    print(f"  ingest            {median('ingest'):10,.0f} rows/s (log only)")
    print(f"  view caught up    {median('view'):10,.0f} rows/s (after the ingest)")
    both = statistics.median(1 / (1 / r.ingest + 1 / r.view) for r in rounds)
    print(f"  ingest and view   {both:10,.0f} rows/s (what `timeline ingest` takes)")
    print(f"  ingest again      {median('again'):10,.0f} rows/s (all unchanged)")
    print(f"  raw insert        {median('raw'):10,.0f} rows/s (the same events, built beforehand)")
    ratio = statistics.median(r.ingest / r.raw for r in rounds)
    print(f"  ingest / raw      {ratio:10.2f}   (median of the rounds' ratios)")


if __name__ == "__main__":
    main()
