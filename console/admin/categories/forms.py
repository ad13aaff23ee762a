"""A category's form as the admin API's bodies: ``CategoryCreateArgs`` and ``CategoryPatchArgs`` judge them."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from console.batches.forms import typed_whole


def category_body(form: MultiDict) -> dict[str, Any]:
    """Name, parent (none: top level), order and active flag as the API reads them; an empty order is left out."""
    body = {"name": form.get("name", ""), "parent_id": typed_whole(form.get("parent_id")),
            "active": form.get("active") == "on"}
    order = typed_whole(form.get("sort_order"))
    if order is not None:
        body["sort_order"] = order
    return body


def field_errors(messages: dict) -> dict[str, list[str]]:
    """The schema's or the service's messages by field, each a list of lines."""
    return {field: [str(line) for line in lines] if isinstance(lines, list) else [str(lines)]
            for field, lines in messages.items()}
