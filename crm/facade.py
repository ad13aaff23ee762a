"""What the CRM offers the pages built on top of it (the console), handed to them by app.py.

Only app.py imports ``crm`` (the import contracts hold it): the console reaches the CRM's services, the API
schemas that read their input, the roles its API allows and its error codes through this module, which
``console.init_app`` is given. One list of names, so what the console leans on is visible in one place.
"""

from __future__ import annotations

from crm.campaigns import service as campaigns
from crm.campaigns.queries import FIGURES as CAMPAIGN_FIGURES
from crm.campaigns.service import default_range
from crm.errors import CrmError
from crm.funnel import service as funnel
from crm.funnel.schemas import FunnelArgs
from crm.members import service as members
from crm.members.api import ROLES as MEMBER_ROLES
from crm.members.schemas import CrmJourneyArgs, CrmMemberListArgs
from crm.o2o import service as o2o
from crm.o2o.api import ROLES as REPORT_ROLES
from crm.o2o.schemas import PeriodDaysArgs, StoresO2OArgs
from crm.rollups.service import business_day
from crm.segments import service as segments
from crm.segments.api import ROLES as SEGMENT_ROLES
from crm.segments.rules import CONSENT_STATES
from crm.segments.rules import FIELDS as SEGMENT_FIELDS
from crm.segments.schemas import SegmentArgs, SegmentIssueArgs
from crm.tags import service as tags
from crm.tags.api import MAX_CSV_BYTES as TAG_CSV_MAX_BYTES
from crm.tags.api import ROLES as TAG_ROLES
from crm.tags.schemas import ACTIONS as TAG_ACTIONS
from crm.tags.schemas import TagArgs, TagJobArgs

__all__ = [
    "CAMPAIGN_FIGURES", "CONSENT_STATES", "MEMBER_ROLES", "REPORT_ROLES", "SEGMENT_FIELDS", "SEGMENT_ROLES",
    "TAG_ACTIONS", "TAG_CSV_MAX_BYTES", "TAG_ROLES", "CrmError", "CrmJourneyArgs", "CrmMemberListArgs", "FunnelArgs",
    "PeriodDaysArgs", "SegmentArgs", "SegmentIssueArgs", "StoresO2OArgs", "TagArgs", "TagJobArgs", "business_day",
    "campaigns", "default_range", "funnel", "members", "o2o", "segments", "tags",
]
