"""A stores CSV imported in the background, for a page to follow: the upload is kept with a job, the job checks
its lines with the progress committed as it goes, then writes all rows or none (``service.upsert_stores``, the
API's import) in one transaction with the job's outcome.

The rules are the import's own (``importing.parse_stores_csv``, ``service.decode_stores_csv``); only when and
where they run differs from ``POST /api/v1/admin/stores/import``, which answers with the result at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update

from shop.database import utcnow
from shop.errors import AppError, too_large_error
from shop.extensions import db
from shop.jobs import enqueue
from shop.stores import service
from shop.stores.errors import StoreError
from shop.stores.importing import MAX_FILE_BYTES, count_lines, parse_stores_csv
from shop.stores.models import StoreImport

ERRORS_KEPT = 1000  # a file wrong on every line of 20,000 keeps the first ones and the count
FINAL = ("imported", "refused")


def start_import(raw: bytes, *, file_name: str | None, staff_id: int | None, now: datetime) -> StoreImport:
    """Keep an uploaded stores CSV with a queued job that imports it once this transaction commits.

    A file over the limit or not UTF-8 is refused here, at once, as the API refuses it.
    """
    if len(raw) > MAX_FILE_BYTES:
        raise too_large_error("The file", MAX_FILE_BYTES)
    text = service.decode_stores_csv(raw)
    job = StoreImport(id=uuid.uuid4().hex, status="queued", text=text, file_name=(file_name or None) and file_name[:255],
                      total_lines=count_lines(text), checked_lines=0, errors=[], created_by_staff_id=staff_id,
                      created_at=now)
    db.session.add(job)
    db.session.flush()
    enqueue(run_store_import, job.id, key=job.id)
    return job


def get_import(import_id: str) -> StoreImport:
    job = db.session.get(StoreImport, import_id) if len(import_id) == 32 and import_id.isalnum() else None
    if job is None:
        raise AppError(StoreError.IMPORT_NOT_FOUND, "No such store import.")
    return job


def run_store_import(import_id: str) -> None:
    """The background job: check every line (progress committed as it goes), then all rows or none."""
    job = db.session.get(StoreImport, import_id)
    if job is None or job.status in FINAL:
        return  # a rerun of finished work
    job.status, job.checked_lines = "checking", 0
    db.session.commit()
    total = job.total_lines
    parsed = parse_stores_csv(job.text, progress=lambda line: _checked(import_id, min(line, total)))
    job = db.session.get(StoreImport, import_id)
    if parsed.errors:
        job.status, job.error_count = "refused", len(parsed.errors)
        job.errors = [[error.line, error.field, error.message] for error in parsed.errors[:ERRORS_KEPT]]
    else:
        job.status = "writing"
        db.session.commit()
        counts = service.upsert_stores(parsed.rows)  # with the outcome below, in one transaction
        job.status, job.created, job.updated, job.unchanged = ("imported", counts["created"], counts["updated"],
                                                               counts["unchanged"])
    job.checked_lines, job.text, job.finished_at = job.total_lines, "", utcnow()
    db.session.commit()


def _checked(import_id: str, line: int) -> None:
    """Commit how far the check got (nothing else is pending while lines are checked)."""
    db.session.execute(update(StoreImport).where(StoreImport.id == import_id)
                       .values(checked_lines=line))
    db.session.commit()
