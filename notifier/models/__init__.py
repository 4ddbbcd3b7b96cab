"""Domain types shared by every stage of the pipeline: what the IPS API returns, the events derived from it
and the notifications rules decide on. Frozen, slotted and free of I/O; nothing here imports another stage.
"""

from notifier.models.events import EVENT_KINDS, CompanyId, CompanyRef, Event, EventKind
from notifier.models.ips import (
    ACTIVE_JOB_STATES,
    ERROR_MARKERS,
    JOB_DETAIL_KINDS,
    JOB_TYPES,
    WARNING_MARKER,
    ActiveJob,
    AuxLogEntry,
    Company,
    JobDetail,
    JobLog,
    JobLogDetail,
    ScheduledJob,
    TaskItemProgress,
    TaskProgress,
)
from notifier.models.notifications import Delivery, GroupDigest, Message, Notification

__all__ = [
    "ACTIVE_JOB_STATES",
    "ERROR_MARKERS",
    "EVENT_KINDS",
    "JOB_DETAIL_KINDS",
    "JOB_TYPES",
    "WARNING_MARKER",
    "ActiveJob",
    "AuxLogEntry",
    "Company",
    "CompanyId",
    "CompanyRef",
    "Delivery",
    "Event",
    "EventKind",
    "GroupDigest",
    "JobDetail",
    "JobLog",
    "JobLogDetail",
    "Message",
    "Notification",
    "ScheduledJob",
    "TaskItemProgress",
    "TaskProgress",
]
