"""The staff form's stores for a brand of thousands of stores: the clerk's stores so far, each with a remove button,
and a typed store code or name searched as the orders list's store filter does (``store_filter``: the stores
service's search), the page never listing every store.

Each button is a plain submit: the view changes the form's stores and shows the form again, saving nothing, so the
form works without JavaScript; with htmx the same buttons swap only the stores' fieldset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from console.admin.orders.store_filter import StoreFilter, store_filter
from shop.database import storable_id
from shop.extensions import db
from shop.stores.models import Store


@dataclass(frozen=True)
class ChosenStore:
    """A store on the form; name and code None when no store has the id (saving will refuse it)."""

    id: int
    name: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class StoreStep:
    """What a store button did: the stores the typed text found, and what to tell the admin."""

    found: StoreFilter = field(default_factory=StoreFilter)
    note: str | None = None


def store_step(form, form_data: Mapping[str, str]) -> StoreStep | None:
    """Apply the store buttons (remove, add, find) to ``form.store_ids``; None when the form is to be saved.

    Text left in the store box also searches rather than saves: the admin was still choosing a store (and Enter in
    the box submits the form).
    """
    store_ids = list(dict.fromkeys(form.store_ids.data or []))
    removed, added = _button_id(form_data, "remove_store"), _button_id(form_data, "add_store")
    if removed is not None:
        form.store_ids.data = [store_id for store_id in store_ids if store_id != removed]
        return StoreStep(note=_("Store removed: save to keep the change."))
    if added is not None:
        return _added(form, store_ids, added)
    typed = (form.store.data or "").strip()
    if not typed and "find_store" not in form_data:
        return None
    if not typed:
        return StoreStep(note=_("Type a store's code or a part of its name."))
    found = store_filter(typed, None)
    return _added(form, store_ids, found.store.id) if found.store is not None else StoreStep(found=found)


def chosen_stores(store_ids: list[int] | None) -> list[ChosenStore]:
    """The form's stores, in the order chosen, with their names and codes."""
    wanted = list(dict.fromkeys(store_ids or []))
    known = [store_id for store_id in wanted if storable_id(store_id)]
    rows = db.session.execute(select(Store.id, Store.name, Store.code).where(Store.id.in_(known))).tuples().all() \
        if known else []
    found = {store_id: ChosenStore(store_id, name, code) for store_id, name, code in rows}
    return [found.get(store_id, ChosenStore(store_id)) for store_id in wanted]


def _added(form, store_ids: list[int], added: int) -> StoreStep:
    form.store_ids.data = store_ids if added in store_ids else [*store_ids, added]
    form.store.data = ""
    return StoreStep(note=_("Store added: save to keep the change."))


def _button_id(form_data: Mapping[str, str], name: str) -> int | None:
    value = (form_data.get(name) or "").strip()
    return int(value) if value.isdigit() else None
