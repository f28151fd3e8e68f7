"""The query side of the application: questions answered from the read model, each on the three
time axes (see timeline.axes), as plain values (dicts and lists of JSON types).

`Queries` is a part of the Timeline application (it reads the application's read model, event
store and registered actors), kept apart from the commands as the read side of CQRS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

from timeline.axes import AXES, NOW, Axes
from timeline.domain import Development, InvalidInput, NotFound, as_uuid
from timeline.history import development_on
from timeline.readmodel import Among, Listed, affordable, fewer_collections
from timeline.relationships import (
    Chapter,
    Fact,
    HappenedKey,
    Linked,
    Moment,
    Relationship,
    ReportChapter,
    ReportedKey,
    Resumed,
    VersionRef,
    by_version_of,
    chapter_key,
    fold,
    moments_of,
    pair_of,
    replay,
    replay_reported,
    replay_steps,
    reported_steps,
    reports_of,
    resumed_reports,
)
from timeline.vocabulary import Dataset, Stance


def dataset_values(datasets: Iterable[Dataset | str]) -> list[str]:
    """The datasets a query keeps (none: all), as the read model stores them; a name that is
    not a dataset is InvalidInput naming the `dataset` field."""
    values = []
    for dataset in datasets:
        try:
            values.append(Dataset(dataset).value)
        except ValueError:
            names = ", ".join(d.value for d in Dataset)
            raise InvalidInput(f"{dataset!r} is not a dataset: use {names}",
                               "dataset") from None
    return sorted(set(values))


SCAN_DEVELOPMENTS = 5000  # the developments one page reads at most (see developments_page)


class Queries:
    """The Timeline application's queries."""

    read_model: Any
    actors: Any
    events: Any

    def get_actor(self, actor_id: str) -> dict[str, Any]:
        found = self.read_model.current().select_actors([actor_id])
        if not found:
            raise NotFound(f"no actor {actor_id!r}", "id")
        return found[0]

    def list_actors(self) -> list[dict[str, Any]]:
        return self.read_model.current().select_actors()

    def get_development(self, ident: UUID | str, axes: Axes | None = None, **when: Any
                        ) -> dict[str, Any]:
        """The development in the version in force on the axes, with the history of its
        versions (see history.development_on)."""
        events = list(self.events.get(as_uuid(ident)))
        if not events or not isinstance(events[0], Development.Recorded):
            raise NotFound(f"no development {ident}", "id")
        return development_on(events, Axes.given(axes, **when))

    def list_developments(
        self, *, actors: Sequence[str] = (), datasets: Iterable[Dataset | str] = (),
        axes: Axes | None = None, **filters: Any
    ) -> list[dict[str, Any]]:
        """Developments in world-date order (earliest day, then latest day, then id), filtered
        as developments_page says; every one, or the first `limit` after `after`."""
        return self.developments_page(actors=actors, datasets=datasets, axes=axes,
                                      bounded=False, **filters).items

    def developments_page(
        self, *, actors: Sequence[str] = (), datasets: Iterable[Dataset | str] = (),
        axes: Axes | None = None, bounded: bool = True, **filters: Any
    ) -> Listed:
        """A page of developments in world-date order (earliest day, then latest day, then
        id), filtered as ViewQueries.developments_page says, reading at most
        SCAN_DEVELOPMENTS of them (unless not `bounded`).

        `actors` matches developments involving any of them or any actor that belongs to them
        (China's developments include those of Wang Yi and of Hong Kong); an unknown actor is
        NotFound, not an empty timeline. `datasets` keeps those from these datasets.
        """
        wanted = dataset_values(datasets)
        self.actors.require(actors)
        view = self.read_model.current()
        members = sorted(view.select_members(actors)) if actors else ()
        when = {k: filters.pop(k) for k in AXES if k in filters}
        filters = {k: getattr(v, "value", v) for k, v in filters.items()}
        return view.developments_page(actors=members, axes=Axes.given(axes, **when),
                                      datasets=wanted,
                                      scan=SCAN_DEVELOPMENTS if bounded else None,
                                      **filters)

    def get_relationship(self, a: str, b: str, axes: Axes | None = None,
                         datasets: Iterable[Dataset | str] = (), **when: Any
                         ) -> dict[str, Any]:
        """The state of the pair (either order) on the axes, from the developments of
        `datasets` (none: all).

        Cost: O(developments of the pair), through the (a, b) index.
        """
        axes = Axes.given(axes, **when)
        wanted = dataset_values(datasets)
        self.actors.require([a, b])
        if a == b:
            raise InvalidInput("a relationship needs two different actors", "pair")
        pair = pair_of(a, b)
        state = fold(self.read_model.links(pair=pair, axes=axes, datasets=wanted), axes.as_of)
        return {**state.get(pair, Relationship(pair)).as_dict(), "axes": axes.echo()}

    def list_relationships(
        self, *, actor: str | None = None, stance: Stance | None = None,
        axes: Axes | None = None, datasets: Iterable[Dataset | str] = (), **when: Any,
    ) -> list[dict[str, Any]]:
        """Every pair (or every pair of one actor), by pair, on the axes, from the
        developments of `datasets` (none: all), each in full: its ties and every development
        behind them (relationships_page serves the outlines a page at a time).

        Cost: O(developments of the actor's pairs) with `actor`, else O(all links).
        """
        axes = Axes.given(axes, **when)
        kept = dataset_values(datasets)
        if actor is not None:
            self.actors.require([actor])
        # The links, their facts and the fold's state are thousands of new objects with no
        # cycles among them (tens of thousands for a busy actor): at the collector's default
        # threshold it went over them again and again while the query made them.
        with fewer_collections():
            states = fold(self.read_model.links(actor=actor, axes=axes, datasets=kept),
                          axes.as_of)
            return [r.as_dict() for pair, r in sorted(states.items())
                    if (actor is None or actor in pair)
                    and (stance is None or r.stance is stance)]

    def relationships_page(
        self, *, limit: int, actor: str | None = None, stance: Stance | None = None,
        after: tuple[str, str] | None = None, axes: Axes | None = None,
        datasets: Iterable[Dataset | str] = (), **when: Any,
    ) -> Listed:
        """The outlines (Relationship.outline) of the next `limit` relationships after the
        pair `after` (of one actor, or all), by pair, on the axes, from the developments of
        `datasets` (none: all), and the pair the page after it starts after (None: the last
        page).

        Cost, as things stand now (no axis, every dataset): a row per pair, from the outlines
        the read model keeps, and a fold of the pairs changed since their outline was made
        (see _outlined_page). On other axes: O(developments of the pairs read). The pairs
        come from the pair index, a run at a time, and only they are folded; a page reads at
        most SCAN_PAIRS pairs holding at most SCAN_LINKS links (or one pair, whatever its
        size), so a `stance` filter that matches few of them, or a run of busy pairs, answers
        with a shorter page (even an empty one) and a cursor to go on from, never with a scan
        of the store.
        """
        axes = Axes.given(axes, **when)
        kept = dataset_values(datasets)
        if actor is not None:
            self.actors.require([actor])
        view = self.read_model.current()
        if axes == NOW and not kept:
            return self._outlined_page(view, limit, actor, stance, after)
        found: list[dict[str, Any]] = []
        scanned = links = 0
        while len(found) <= limit:
            if scanned >= SCAN_PAIRS or links > SCAN_LINKS:
                return Listed(found, after)
            wanted = limit + 1 - len(found)
            if stance is not None:  # most pairs read will not match: read more at a time
                wanted = min(SCAN_PAIRS - scanned, max(wanted, 100))
            pairs = view.select_pairs(axes, after, wanted, actor, kept)
            if not pairs:
                return Listed(found, None)
            # The pairs a page folds hold SCAN_LINKS links at most, but for its first pair.
            # Counted in order until the budget is spent: a pair left uncounted is past it.
            sizes = view.count_links(pairs, axes, datasets=kept, budget=SCAN_LINKS - links)
            for i, pair in enumerate(pairs):
                links += sizes.get(pair, SCAN_LINKS + 1)
                if links > SCAN_LINKS and (scanned or i):
                    pairs = pairs[:i]
                    break
            states = fold(view.select_links(among=Among(pairs=pairs), axes=axes,
                                            datasets=kept), axes.as_of)
            for pair in pairs:
                scanned, after = scanned + 1, pair
                state = states.get(pair)  # none when nothing of the pair stands on the axes
                if state is not None and (stance is None or state.stance is stance):
                    found.append(state.outline())
                    if len(found) > limit:
                        break
        return Listed(found[:limit], tuple(found[limit - 1]["pair"]))  # type: ignore[arg-type]

    def _outlined_page(self, view: Any, limit: int, actor: str | None, stance: Stance | None,
                       after: tuple[str, str] | None) -> Listed:
        """A page of relationships as they stand now, from the outlines the read model keeps
        (see ViewQueries.select_outlines): a row per pair. The pairs marked since their
        outline was made are folded here, at most SCAN_LINKS links of them (or one pair), so
        the page may end early, with a cursor to go on from."""
        rows = view.select_outlines(after, limit + 1, actor, stance and stance.value)
        more = len(rows) > limit  # pairs follow the last row read
        marked = [pair for pair, outline in rows if outline is None]
        if marked:
            cut = affordable(marked, view.count_links(marked, NOW, budget=SCAN_LINKS),
                             SCAN_LINKS)
            if cut < len(marked):  # the page ends before the first pair past the budget
                rows, marked, more = rows[:rows.index((marked[cut], None))], marked[:cut], True
        states = fold(view.select_links(among=Among(pairs=marked))) if marked else {}
        found: list[dict[str, Any]] = []
        for pair, outline in rows:
            if outline is not None:
                found.append(outline)
            elif (state := states.get(pair)) is not None and (
                    stance is None or state.stance is stance):
                found.append(state.outline())  # none where nothing of the pair stands
            if len(found) > limit:
                return Listed(found[:limit], tuple(found[limit - 1]["pair"]))  # type: ignore[arg-type]
        return Listed(found, rows[-1][0] if more else None)

    def replay(
        self,
        *,
        until: date | None = None,
        start: date | None = None,
        pair: tuple[str, str] | None = None,
        order: str = "happened",
        axes: Axes | None = None,
        datasets: Iterable[Dataset | str] = (),
        **when: Any,
    ) -> list[dict[str, Any]]:
        """The ordered steps that built the relationships (of one pair, or all) up to `until`:
        in the order they happened (world time), or as the news arrived (`order="reported"`,
        `until` and `start` then bounding the days of the reports), from the developments of
        `datasets` (none: all). The whole replay, at once: O(developments replayed);
        replay_page serves it a page at a time."""
        axes = Axes.given(axes, **when)
        kept = dataset_values(datasets)
        if pair is not None:
            self.actors.require(list(pair))
        reported, axes = replay_axes(order, until, axes)
        if reported and pair is not None:
            return [step for _, step in reported_steps(
                self._reports_of(pair_of(*pair), axes, kept), until, start,
                pairs={pair_of(*pair)})]
        linked = self.read_model.links(pair=pair, axes=axes, every_version=reported,
                                       datasets=kept)
        if pair is not None:
            linked = [link for link in linked if link.pair == pair_of(*pair)]
        if reported:
            return replay_reported(linked, until=until, start=start)
        return replay(linked, until=until, start=start)

    def _reports_of(self, pair: tuple[str, str], axes: Axes, datasets: Sequence[str]
                    ) -> list[Linked]:
        """The links of every version of the developments that linked the pair (on the axes,
        of `datasets`): a pair's replay by report has a step for a version that no longer
        links it, too (a correction that named another target)."""
        developments = {link.fact.id for link in self.read_model.links(
            pair=pair, axes=axes, every_version=True, datasets=datasets)}
        return self.read_model.view.select_links(
            among=Among(developments=sorted(developments)), axes=axes, every_version=True,
            datasets=datasets)

    def replay_page(
        self,
        *,
        limit: int,
        after: ReplayKey | None = None,
        until: date | None = None,
        start: date | None = None,
        pair: tuple[str, str] | None = None,
        order: str = "happened",
        axes: Axes | None = None,
        datasets: Iterable[Dataset | str] = (),
        **when: Any,
    ) -> Listed:
        """The `limit` steps of `replay` after the step whose key is `after`, and the key the
        next page starts after (None: the last page): the same steps, a page at a time, from
        the developments of `datasets` (none: all).

        Cost: the page's steps are found after the cursor (for all pairs, in the moments
        index, or the reports index by report), then only the page's pairs are folded: a busy
        pair from its chapter in which the page begins (see pair_chapters), so that it costs
        the page and one chapter of each pair, whatever the pair's history; a pair with few
        moments, or on other axes (known_at, reported_by), or of some datasets, or changed
        since it was outlined, with its history. A page folds at most SCAN_LINKS links: past
        them it ends early (after one step at least).
        """
        given = Axes.given(axes, **when)
        kept = dataset_values(datasets)
        if pair is not None:
            self.actors.require(list(pair))
        reported, axes = replay_axes(order, until, given)
        # Chapters keep busy pairs' states on the axes of now (a replay by report up to a
        # date stops there), of every dataset.
        chaptered = not (kept or given.known_at or given.reported_by)
        if pair is not None:
            pair = pair_of(*pair)
            if chaptered:
                page = self._pair_page(pair, reported, axes, until, start, after, limit)
                if page is not None:
                    return page
            if reported:
                found: list[tuple[Any, dict[str, Any]]] = reported_steps(
                    self._reports_of(pair, axes, kept), until, start, after, limit + 1,  # type: ignore[arg-type]
                    pairs={pair})
            else:
                linked = [link for link in self.read_model.links(pair=pair, axes=axes,
                                                                 datasets=kept)
                          if link.pair == pair]
                found = replay_steps(linked, until, start, after, limit + 1)  # type: ignore[arg-type]
            return Listed([step for _, step in found[:limit]],
                          found[limit - 1][0] if len(found) > limit else None)
        view = self.read_model.current()
        if reported:
            version_positions: dict[tuple[str, int], int] = {}
            keys: list[Any] = self._report_keys(view, axes, after, start, limit + 1, kept,  # type: ignore[arg-type]
                                                version_positions)
        else:
            step_links: dict[Any, Linked] = {}
            read: dict[int, list[Linked]] = {}
            keys = self._moment_keys(view, axes, after, until, start, limit + 1, kept,  # type: ignore[arg-type]
                                     step_links, read)
        at = 3 if reported else 4  # where the pair is in a key
        books: dict[tuple[str, str], list[Any]] = {}
        if chaptered:
            spans: dict[tuple[str, str], list[Any]] = {}
            for key in keys[:limit]:
                spans.setdefault((key[at], key[at + 1]), []).append(key[:at])
            books = view.read_chapters([(pair, found[0], found[-1], None)
                                        for pair, found in spans.items()], reported)
        shown = self._affordable(view, keys[:limit], lambda key: (key[at], key[at + 1]), axes,
                                 reported, kept, books)
        next_key = (shown[-1] if len(shown) < min(len(keys), limit)
                    else keys[limit - 1] if len(keys) > limit else None)
        pairs = {(key[at], key[at + 1]) for key in shown}
        plain = pairs - books.keys()
        if reported:
            found = []
            if plain:
                developments = {link.fact.id for link in view.select_links(
                    among=Among(pairs=sorted(plain)), axes=axes, every_version=True,
                    datasets=kept)}
                linked = view.select_links(among=Among(developments=sorted(developments)),
                                           axes=axes, every_version=True, datasets=kept)
                found = reported_steps(linked, start=start, after=after,  # type: ignore[arg-type]
                                       limit=len(shown), pairs=plain)
            if shown:
                last_shown = {(key[at], key[at + 1]): key for key in shown}
                for pair in pairs - plain:
                    books[pair] = reports_up_to(
                        books[pair], version_positions.get(tuple(last_shown[pair][1:3])))
                # Each busy pair's steps up to the page's last report: the key just after it
                # (the same report's next version) bounds them.
                day, ident, version = shown[-1][:3]
                found += self._resumed_reports(
                    view, {pair: books[pair] for pair in pairs - plain}, until, start, after,  # type: ignore[arg-type]
                    len(shown), (day, ident, version + 1))
            found = sorted(found, key=lambda step: step[0])[:len(shown)]
        else:
            last_shown = {(key[at], key[at + 1]): key for key in shown}
            for pair in pairs - plain:
                books[pair] = up_to(books[pair], last_shown[pair], step_links[last_shown[pair]])
            positions = {pair: {p for chapter in books[pair] for p in chapter.positions}
                         for pair in pairs - plain}
            linked = [*(view.select_links(among=Among(pairs=sorted(plain)), axes=axes,
                                          datasets=kept) if plain else ()),
                      *(chapter_links(view, positions, axes, read) if positions else ())]
            found = replay_steps(linked, until, start, after, len(shown),  # type: ignore[arg-type]
                                 resumed=resumed(books, positions, linked, until))
        return Listed([step for _, step in found], next_key)

    def _pair_page(self, pair: tuple[str, str], reported: bool, axes: Axes,
                   until: date | None, start: date | None, after: ReplayKey | None,
                   limit: int) -> Listed | None:
        """A page of one busy pair's replay, folded from the chapter in which it begins (see
        pair_chapters): O(limit + a chapter's moments, or reports), whatever the pair's
        history. None where the pair has no chapters (a short history, or marked since it was
        outlined): the caller folds its history."""
        view = self.read_model.current()
        nil = str(UUID(int=0))  # an id every store reads as one, before every other
        # From `start`: before every step of its day.
        since = start and ((start.isoformat(), nil, -1) if reported
                           else (start.isoformat(), -1, "", nil))
        at = 3 if reported else 4
        begins = max(filter(None, (after and tuple(after[:at]), since)), default=None)
        more = -(-(limit + 1) // view.chapter_moments)  # chapters after the first, at least
        while True:
            chapters = view.read_chapters([(pair, begins, None, more + 1)], reported).get(pair)
            if not chapters:
                return None
            bound = chapters[more + 1].key if len(chapters) > more + 1 else None
            if bound is not None and until is not None and bound[0] > until.isoformat():
                bound = None  # the chapters after it begin after the replay's last day
            chapters = chapters[:more + 1]
            if reported:
                found = self._resumed_reports(view, {pair: chapters}, until, start, after,  # type: ignore[arg-type]
                                              limit + 1, bound)
            else:
                books = {pair: chapters}
                positions = {pair: {p for chapter in chapters for p in chapter.positions}}
                linked = chapter_links(view, positions, axes)
                found = replay_steps(linked, until, start, after, limit + 1,  # type: ignore[arg-type]
                                     resumed=resumed(books, positions, linked, until),
                                     bound=bound)
            if found or bound is None:
                break
            more *= 2  # chapters with no step shown (reports of other pairs): read on
        if len(found) > limit:
            return Listed([step for _, step in found[:limit]], found[limit - 1][0])
        # The chapters read end before the page, or the replay does.
        return Listed([step for _, step in found], None if bound is None else found[-1][0])

    def _resumed_reports(self, view: Any, books: Mapping[tuple[str, str],
                                                         Sequence[ReportChapter]],
                         until: date | None, start: date | None, after: ReportedKey | None,
                         limit: int, bound: Any = None
                         ) -> list[tuple[ReportedKey, dict[str, Any]]]:
        """The steps of busy pairs' replays by report from their chapters (see
        resumed_reports), each pair's at most `limit`, in key order: the versions the
        chapters name and those versions' links of their pairs, read for all the pairs at
        once."""
        if not books:
            return []
        positions = {pair: {p for chapter in chapters for p in (*chapter.reports,
                                                                 *chapter.before)}
                     for pair, chapters in books.items()}
        links_of: dict[tuple[str, str], dict[int, list[Linked]]] = {}
        refs: dict[int, tuple[VersionRef, Fact]] = {}
        for link in view.select_links(among=Among(positions=positions), every_version=True):
            links_of.setdefault(link.pair, {}).setdefault(link.position, []).append(link)
            if link.position not in refs:  # its fact, read with its link
                fact = link.fact
                refs[link.position] = (VersionRef(
                    fact.reported_from.isoformat() if fact.reported_from else "", fact.id,
                    fact.version, link.position), fact)
        # The versions that link none of these pairs (they link others), read by position.
        refs |= view.select_facts({p for found in positions.values() for p in found} - refs.keys())
        found: list[tuple[ReportedKey, dict[str, Any]]] = []
        for pair, chapters in sorted(books.items()):
            found += resumed_reports(pair, chapters, refs, links_of.get(pair, {}), until,
                                     start, after, limit, bound)
        return sorted(found, key=lambda step: step[0])

    def _affordable(self, view: Any, keys: list[Any], pair_of_key: Any, axes: Axes,
                    every_version: bool, datasets: Sequence[str],
                    chapters: Mapping[tuple[str, str], Sequence[Any]]) -> list[Any]:
        """The first of the keys (in order) whose pairs hold SCAN_LINKS links together (of
        `datasets`, when given; a pair with `chapters`, the links of those), and always the
        first key."""
        pairs = list(dict.fromkeys(pair_of_key(key) for key in keys))  # in the keys' order
        sizes = {pair: sum(chapter.cost for chapter in chapters[pair])
                 for pair in pairs if pair in chapters}
        sizes |= view.count_links([pair for pair in pairs if pair not in chapters], axes,
                                  every_version, datasets, budget=SCAN_LINKS)
        cut = affordable(pairs, sizes, SCAN_LINKS)
        if cut == len(pairs):
            return keys
        return keys[:next(i for i, key in enumerate(keys) if pair_of_key(key) == pairs[cut])]

    def _moment_keys(self, view: Any, axes: Axes, after: HappenedKey | None,
                     until: date | None, start: date | None, limit: int,
                     datasets: Sequence[str], of_keys: dict[Any, Linked] | None = None,
                     read: dict[int, list[Linked]] | None = None) -> list[HappenedKey]:
        """The keys of the next `limit` steps of a replay in world time after `after`: the
        moments after it (of `datasets`, when given), read from the index a run at a time, each
        spread over its links (the same day and step for each link of a version, see
        Moment.key); each key's link in `of_keys`, and every link read by its version's
        position in `read`, when given."""
        keys: list[HappenedKey] = []
        cursor, inclusive = after, True  # the cursor's moment may have links still to come
        while len(keys) < limit:
            found = view.select_moments(axes, cursor, until, start, limit, inclusive, datasets)
            linked = view.select_links(
                among=Among(versions=sorted({(m[3], m[4]) for m in found})), axes=axes)
            if read is not None:  # a version with moments in two runs is read in both
                read.update(by_position(linked))
            links = by_version_of(linked)
            for day, step, earliest, ident, version in found:
                for link in links.get((ident, version), ()):
                    key = (day, step, earliest, ident, *link.pair, link.source, link.target)
                    if after is None or key > after:
                        keys.append(key)  # type: ignore[arg-type]
                        if of_keys is not None:
                            of_keys[key] = link
            if len(found) < limit:
                break
            cursor, inclusive = found[-1], False
        return sorted(keys)[:limit]

    def _report_keys(self, view: Any, axes: Axes, after: ReportedKey | None,
                     start: date | None, limit: int, datasets: Sequence[str],
                     positions: dict[tuple[str, int], int] | None = None
                     ) -> list[ReportedKey]:
        """The keys of the next `limit` steps of a replay as the news arrived after `after`:
        the reports after it (of `datasets`, when given), read from the index a run at a time,
        each with the pairs of its version and of the version it replaces (every version of
        their developments read: a development's versions share its dataset); each version
        read by its (development id, version) in `positions`, when given, at its position."""
        keys: list[ReportedKey] = []
        cursor, inclusive = after, True  # the cursor's report may have pairs still to come
        while len(keys) < limit:
            found = view.select_reports(axes, cursor, start, limit, inclusive, datasets)
            wanted = set(found)
            by_version = by_version_of(view.select_links(
                among=Among(developments=sorted({ident for _, ident, _ in found})),
                axes=axes, every_version=True))
            if positions is not None:
                positions.update((key, links[0].position) for key, links in by_version.items())
            for report in reports_of(by_version):
                if (report.day, report.ident, report.version) in wanted:
                    keys += [key for key in report.step_keys() if after is None or key > after]
            if len(found) < limit:
                break
            cursor, inclusive = found[-1], False
        return sorted(keys)[:limit]

ReplayKey = HappenedKey | ReportedKey
SCAN_PAIRS = 1000  # the pairs one page of relationships reads at most (see relationships_page)
SCAN_LINKS = 20_000  # the links one page of a replay folds at most, but for one pair (replay_page)


def by_position(linked: Iterable[Linked]) -> dict[int, list[Linked]]:
    """Links by their versions' positions."""
    found: dict[int, list[Linked]] = {}
    for link in linked:
        found.setdefault(link.position, []).append(link)
    return found


def chapter_links(view: Any, positions: Mapping[tuple[str, str], Any], axes: Axes,
                  read: Mapping[int, Sequence[Linked]] | None = None) -> list[Linked]:
    """The links of chapters, by their versions' positions: those versions, whether or not
    another has superseded one since the chapters were read (a write meanwhile), so that a
    page resumes from the chapters as they were made (see pair_chapters). The links of the
    positions in `read` (every link of a version, read on the same axes: a page's steps) are
    taken from it, not read again: a version's links never change."""
    read = read or {}
    known = [link for pair, found in positions.items() for position in found
             if position in read for link in read[position] if link.pair == pair]
    rest = {pair: unread for pair, found in positions.items()
            if (unread := [position for position in found if position not in read])}
    if not rest:
        return known
    return [*view.select_links(among=Among(positions=rest), axes=axes, every_version=True),
            *known]


def up_to(chapters: Sequence[Chapter], key: Sequence[Any], link: Linked) -> list[Chapter]:
    """A busy pair's chapters (read for a page of the whole store's replay) without what the
    page never reaches past its last step of the pair (its `key`, a moment of `link`): the
    chapters after the one the step falls in, and in that one the positions after the
    step's, where the step is the first moment of its development in the chapter (positions
    are in the order of their first moments there: see fold_chapters). Most pairs show one
    step on a page, and the moments of their chapter after it were most of what it read."""
    step = tuple(key[:4])
    found = [chapter for chapter in chapters if chapter.key <= step]
    if not found:  # a step before them all (a pair's chapters begin at its first moment)
        return list(chapters)
    last = found[-1]
    if link.position not in last.positions[:-1]:
        return found  # the last position, or not there: nothing to leave out
    if not any(last.key <= chapter_key(Moment(day, kind, link)) < step
               for day, kind, _ in moments_of(link.fact)):
        found[-1] = last._replace(
            positions=last.positions[:last.positions.index(link.position) + 1])
    return found


def reports_up_to(chapters: Sequence[ReportChapter], position: int | None
                  ) -> list[ReportChapter]:
    """A busy pair's chapters by report (read for a page of the whole store's replay) without
    the reports of the last one after the page's last step of the pair (the report of the
    version at `position`): a later report makes only later steps, and those of the chapter
    after the step were most of what a page read of it (as up_to, in world time)."""
    last = chapters[-1]
    if position is None or position not in last.reports:
        return list(chapters)  # the step is in an earlier chapter (a page cut short)
    return [*chapters[:-1], last._replace(reports=last.reports[:last.reports.index(position) + 1])]


def resumed(chapters: Mapping[tuple[str, str], Sequence[Chapter]],
            positions: Mapping[tuple[str, str], Any], linked: Sequence[Linked],
            until: date | None) -> dict[tuple[str, str], Resumed]:
    """Each pair with chapters resumed from the first of them (see Resumed), with the links
    read of its chapters' positions; up to a date (`until`), from the state a replay up to a
    date folds. The first chapter's state moves on with it (not copied: chapters are read
    for one page)."""
    links_of: dict[tuple[str, str], dict[str, list[Linked]]] = {}
    for link in linked:
        if link.pair in positions:
            links_of.setdefault(link.pair, {}).setdefault(link.fact.id, []).append(link)
    found = {}
    for pair in positions:
        first = chapters[pair][0]
        tally = first.now if until is None or first.until is None else first.until
        found[pair] = Resumed(tally, first.key, links_of.get(pair, {}),
                              until is not None)
    return found


def replay_axes(order: str, until: date | None, axes: Axes) -> tuple[bool, Axes]:
    """Whether a replay goes as the news arrived, and the axes its links are read on: as the
    news arrived, every version reported by `until`; in world time, as of `until`."""
    if order == "reported":
        return True, replace(axes, reported_by=min(filter(None, (until, axes.reported_by)),
                                                   default=None))
    return False, replace(axes, as_of=until)
