"""What a batch's page shows of its channel's own work: for a targeted batch the issuance forms and its recent
jobs, for an exchange-code batch the codes form and the download."""

from __future__ import annotations

from typing import Any

from wtforms.fields.choices import SelectChoice

from console.batches.forms import ExchangeCodesForm, IssueToMembersForm, IssueToSegmentForm
from console.crm_services import crm
from coupons.claiming import targeted
from coupons.models import BatchChannel
from shop.pagination import MAX_PAGE_SIZE

RECENT_JOBS = 5


def issuing_context(batch: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The forms (as given, with their errors, or blank) and the recent jobs the batch's channel shows."""
    if batch["channel"] == BatchChannel.TARGETED.value:
        to_segment = given.get("to_segment") or IssueToSegmentForm(formdata=None)
        to_segment.segment_id.choices = [SelectChoice(segment["id"], segment["name"]) for segment in
                                         crm().segments.list_segments(page=1, page_size=MAX_PAGE_SIZE)["items"]]
        jobs = targeted.list_jobs(batch["id"], page=1, page_size=RECENT_JOBS)["items"]
        return {"to_members": given.get("to_members") or IssueToMembersForm(formdata=None), "to_segment": to_segment,
                "jobs": jobs, "errors": given.get("errors", {}), "refusal": given.get("refusal")}
    if batch["channel"] == BatchChannel.EXCHANGE_CODE.value:
        return {"codes_form": given.get("codes_form") or ExchangeCodesForm(formdata=None),
                "errors": given.get("errors", {}), "refusal": given.get("refusal")}
    return {"errors": {}, "refusal": None}
