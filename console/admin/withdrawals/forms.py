"""A withdrawal's review: a note (optional to approve, required to reject: the member sees it)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length


class ReviewForm(FlaskForm):
    note = StringField(_l("Note (the member sees it; needed to reject)"), validators=[Length(max=500)])
