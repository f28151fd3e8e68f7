"""The query side of the application: questions answered from the read model, each on the three
time axes (see timeline.axes), as plain values (dicts and lists of JSON types).

`Queries` is a part of the Timeline application (it reads the application's read model, event
store and registered actors), kept apart from the commands as the read side of CQRS.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

from timeline.axes import AXES, Axes
from timeline.domain import Development, InvalidInput, NotFound, as_uuid
from timeline.history import development_on
from timeline.relationships import Relationship, fold, pair_of, replay, replay_reported
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
        as ViewQueries.select_developments says.

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
        return view.select_developments(actors=members, axes=Axes.given(axes, **when),
                                        datasets=wanted, **filters)

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
        after: tuple[str, str] | None = None, limit: int | None = None,
        axes: Axes | None = None, datasets: Iterable[Dataset | str] = (), **when: Any,
    ) -> list[dict[str, Any]]:
        """Every pair (or every pair of one actor), by pair, on the axes, from the
        developments of `datasets` (none: all); with `limit`, the page of pairs after `after`.

        Cost: O(developments of the actor's pairs) with `actor`. Without, a page costs
        O(developments of its pairs): the page's pairs are found in the pair index and only
        they are folded; a `stance` filter reads pages until its own is full, so a rare stance
        costs up to O(all developments).
        """
        axes = Axes.given(axes, **when)
        kept = dataset_values(datasets)

        def wanted(states: Any) -> list[dict[str, Any]]:
            found = [r.as_dict() for pair, r in sorted(states.items())
                     if (actor is None or actor in pair) and (after is None or pair > after)]
            return [s for s in found if stance is None or s["stance"] == stance.value]

        if actor is not None or limit is None:
            if actor is not None:
                self.actors.require([actor])
            found = wanted(fold(self.read_model.links(actor=actor, axes=axes, datasets=kept),
                                axes.as_of))
            return found if limit is None else found[:limit]
        view = self.read_model.current()
        found = []
        while len(found) < limit:
            pairs = view.select_pairs(axes, after, limit, kept)
            if not pairs:
                break
            linked = view.select_links(pairs=(pairs[0], pairs[-1]), axes=axes, datasets=kept)
            found += wanted(fold(linked, axes.as_of))
            after = pairs[-1]
        return found[:limit]

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
        `datasets` (none: all)."""
        axes = Axes.given(axes, **when)
        kept = dataset_values(datasets)
        if pair is not None:
            self.actors.require(list(pair))
        if order == "reported":
            axes = replace(axes, reported_by=min(filter(None, (until, axes.reported_by)),
                                                 default=None))
            linked = self.read_model.links(pair=pair, axes=axes, every_version=True,
                                           datasets=kept)
        else:
            linked = self.read_model.links(pair=pair, axes=replace(axes, as_of=until),
                                           datasets=kept)
        if pair is not None:
            linked = [link for link in linked if link.pair == pair_of(*pair)]
        if order == "reported":
            return replay_reported(linked, until=until, start=start)
        return replay(linked, until=until, start=start)
