"""The CRM as app.py hands it to the console (``console.init_app(app, crm=...)``): its services, the API schemas
that read their input, the roles its API allows and its error codes (``crm.facade``).

Only app.py imports ``crm``; the console's marketing pages reach it through ``crm()`` at request time, and their
roles through ``crm_page``, so what each role may do stays what the CRM's API allows.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from flask import Flask, current_app

from console.session import page_for

EXTENSION = "ripple.crm"


def attach(app: Flask, facade: ModuleType) -> None:
    """Keep the CRM's facade on the app for the pages that call it."""
    app.extensions[EXTENSION] = facade


def crm() -> Any:
    """The CRM's facade this app was given (``crm.facade``)."""
    return current_app.extensions[EXTENSION]


def crm_page(roles: str) -> Callable:
    """``page_for`` the roles the CRM's API names ``roles`` (``"SEGMENT_ROLES"``), read from the facade per request."""
    return page_for(roles_of=lambda: getattr(crm(), roles))
