"""The orders list's store filter for a brand of thousands of stores: what an admin typed (a store's code, its name
or a part of it) becomes one store through the stores service's search, or a short list to choose from; the page
never lists every store.

With htmx the same search suggests stores while the admin types; without JavaScript the form's Filter button does it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from shop.database import storable_id
from shop.extensions import db
from shop.pagination import paginate
from shop.stores import service as stores
from shop.stores.models import Store
from shop.stores.schemas import StoreListArgs

SUGGESTED = 8  # stores offered for one search; more matches ask for more letters


@dataclass(frozen=True)
class StoreFilter:
    """The store an orders list is narrowed to, or why none is, with the stores that matched what was typed."""

    typed: str = ""
    store: Store | None = None
    matches: list[Store] = field(default_factory=list)
    more: int = 0  # stores that matched beyond those offered
    problem: str | None = None

    @property
    def store_id(self) -> int | None:
        return self.store.id if self.store is not None else None


def store_filter(typed: str | None, store_id: int | None) -> StoreFilter:
    """The store of the filter: the typed text when there is some (the admin changed it), else the chosen store id."""
    typed = (typed or "").strip()
    if typed:
        return _by_text(typed)
    if store_id is None:
        return StoreFilter()
    store = db.session.get(Store, store_id) if storable_id(store_id) else None
    if store is None:
        return StoreFilter(problem=_("There is no store #%(id)s.", id=store_id))
    return StoreFilter(typed=store.code, store=store)


def matching_stores(typed: str | None) -> StoreFilter:
    """Stores whose name holds or whose code starts with the text (the stores service's search), a few of them."""
    typed = (typed or "").strip()
    if not typed:
        return StoreFilter()
    try:
        query = StoreListArgs().load({"q": typed})["q"]
    except ValidationError as wrong:
        return StoreFilter(typed=typed, problem=" ".join(wrong.normalized_messages().get("q", [])))
    found = paginate(stores.store_list(q=query), page=1, page_size=SUGGESTED)
    return StoreFilter(typed=typed, matches=list(found["items"]), more=max(found["total"] - SUGGESTED, 0))


def _by_text(typed: str) -> StoreFilter:
    # A store's code is unique and says exactly which store: it wins over a search that also matches others.
    exact = db.session.scalar(select(Store).where(Store.code == typed))
    if exact is not None:
        return StoreFilter(typed=exact.code, store=exact)
    found = matching_stores(typed)
    if found.problem is not None:
        return found
    if len(found.matches) == 1 and not found.more:
        return StoreFilter(typed=found.matches[0].code, store=found.matches[0])
    named = _only_store_named(typed)
    if named is not None:
        return StoreFilter(typed=named.code, store=named)
    if not found.matches:
        return StoreFilter(typed=typed, problem=_("No store's name or code matches “%(typed)s”.", typed=typed))
    return StoreFilter(typed=typed, matches=found.matches, more=found.more,
                       problem=_("Several stores match “%(typed)s”: choose one.", typed=typed))


def _only_store_named(typed: str) -> Store | None:
    """The one store with exactly this name (None when no store or several have it)."""
    named = db.session.scalars(select(Store).where(Store.name == typed).limit(2)).all()
    return named[0] if len(named) == 1 else None


def store_names(store_ids: set[int | None]) -> dict[int, str]:
    """The names of these stores only (a page's orders name a handful, never the brand's thousands)."""
    wanted = {store_id for store_id in store_ids if store_id is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(Store.id, Store.name).where(Store.id.in_(wanted))).tuples().all())

