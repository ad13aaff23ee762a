"""The store form (the fields of the admin store API, positions as numbers with their coordinate system), a dated
day's hours (the exception API's) and the CSV upload. The fields' rules are the API schemas' (``StoreInputSchema``,
``HoursExceptionArgs``), checked by the view; these forms carry the labels and the CSRF token."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from shop.stores.importing import format_day_spec, format_hours_spec, parse_day_spec
from shop.stores.models import StoreHoursException
from shop.stores.schemas import SERVICES, STATUSES

TEXT_FIELDS = ("code", "name", "address", "city", "district", "phone", "timezone")


def status_words() -> dict[str, str]:
    return {"open": _l("Open"), "closed": _l("Closed for good"), "suspended": _l("Suspended")}


def service_words() -> dict[str, str]:
    return {"pickup": _l("Pickup"), "dine_in": _l("Dine in"), "delivery": _l("Delivery")}


class ServiceChoices(SelectMultipleField):
    """A store's services, as checkboxes (a phone lists them one a line)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class StoreForm(FlaskForm):
    code = StringField(_l("Store code"))
    name = StringField(_l("Name"))
    address = StringField(_l("Address"))
    city = StringField(_l("City"))
    district = StringField(_l("District"))
    lat = StringField(_l("Latitude (degrees)"))
    lng = StringField(_l("Longitude (degrees)"))
    coord = SelectField(_l("Coordinate system of these numbers"), choices=[
        SelectChoice("gcj02", _l("GCJ-02 (WeChat, Tencent and Amap maps)")),
        SelectChoice("wgs84", _l("WGS-84 (GPS): converted to GCJ-02"))])
    phone = StringField(_l("Phone"))
    timezone = StringField(_l("Time zone"), default="Asia/Shanghai")
    services = ServiceChoices(_l("Services"), choices=lambda: [SelectChoice(*item) for item in service_words().items()], validate_choice=False,
                              coerce=str)
    status = SelectField(_l("Status"), choices=lambda: [SelectChoice(status, status_words()[status]) for status in STATUSES])
    hours = StringField(_l("Weekly hours"))
    prepares_orders = BooleanField(_l("The store prepares pickup orders (clerks mark them ready)"))

    @classmethod
    def of_store(cls, store: dict[str, Any]) -> StoreForm:
        """The form filled from a store as the service returns it (stored positions are GCJ-02)."""
        values = {name: store.get(name) or "" for name in TEXT_FIELDS}
        return cls(formdata=None, **values, lat=repr(store["lat"]), lng=repr(store["lng"]), coord="gcj02",
                   services=store["services"], status=store["status"], prepares_orders=store["prepares_orders"],
                   hours=format_hours_spec(store["weekly_hours"]))

    def api_body(self) -> dict[str, Any]:
        """The form as the admin store API takes it (the hours go separately: ``weekly_hours``)."""
        body: dict[str, Any] = {name: (self[name].data or "").strip() for name in TEXT_FIELDS}
        for optional in ("district", "phone"):
            body[optional] = body[optional] or None
        body["timezone"] = body["timezone"] or "Asia/Shanghai"
        body.update(lat=(self.lat.data or "").strip(), lng=(self.lng.data or "").strip(), coord=self.coord.data,
                    services=[name for name in self.services.data or [] if name in SERVICES],
                    status=self.status.data, prepares_orders=bool(self.prepares_orders.data))
        return body


class ExceptionForm(FlaskForm):
    """One dated day's hours, in the store's zone; its fields are named ``exception-...`` beside the store form's."""

    day = StringField(_l("Date"))
    closed = RadioField(_l("That day the store is"), default="closed", choices=[
        SelectChoice("closed", _l("Closed all day")), SelectChoice("open", _l("Open these hours"))])
    hours = StringField(_l("Hours that day"))
    note = StringField(_l("Note"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="exception", **kwargs)

    @classmethod
    def of_exception(cls, exception: StoreHoursException) -> ExceptionForm:
        """The form filled from a saved day, to change it."""
        return cls(formdata=None, day=exception.day.isoformat(), closed="open" if exception.hours else "closed",
                   hours=format_day_spec(exception.hours), note=exception.note or "")

    def ranges(self) -> list[list[str]]:
        """The hours as the API's ``hours`` (none when closed all day); HoursError if they cannot be read."""
        if self.closed.data != "open":
            return []
        return parse_day_spec(self.hours.data or "")

    def note_text(self) -> str | None:
        return (self.note.data or "").strip() or None


class ImportForm(FlaskForm):
    file = FileField(_l("Stores CSV file (UTF-8)"))
