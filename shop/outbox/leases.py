"""One scheduler at a time per periodic job: a lease row in the database, taken by a conditional UPDATE.

Production runs one `flask jobs sweep`, but a second one (a deploy overlapping the old one, an
operator running it by hand, two `python app.py`) must not run the same job at the same moment.
The lease lives in the database, not Redis, so the sweep that recovers from a Redis outage does
not need Redis to run. A scheduler that dies holding a lease blocks that job until it runs out.
Leases are wall-clock time, whatever time the sweep is asked to act as of.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy import or_, update

from shop.database import dialect_insert, utcnow
from shop.extensions import db
from shop.outbox.models import PeriodicLease

leases = PeriodicLease.__table__
LEASE = timedelta(minutes=5)  # longer than a periodic job runs; renewed by nothing


def acquire(name: str, *, lease: timedelta = LEASE) -> str | None:
    """Take the lease of periodic job ``name`` (committed at once); the holder's token, or None if
    another scheduler holds it."""
    now = utcnow()
    insert = dialect_insert(db.session)
    db.session.execute(insert(leases).values(name=name).on_conflict_do_nothing(index_elements=[leases.c.name]))
    holder = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    taken = db.session.execute(update(leases).where(leases.c.name == name,
                                                    or_(leases.c.until.is_(None), leases.c.until < now))
                               .values(holder=holder, until=now + lease)).rowcount
    db.session.commit()
    return holder if taken else None


def release(name: str, holder: str) -> None:
    """Give the lease back (committed at once), if it is still ours."""
    db.session.execute(update(leases).where(leases.c.name == name, leases.c.holder == holder)
                       .values(holder=None, until=None))
    db.session.commit()
