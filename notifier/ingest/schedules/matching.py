"""Which schedule a run belongs to, by the names IPS gives both. Pure.

IPS links a run to its schedule by nothing but names. A ScheduledJob carries `jobHandle`, `name` (unique) and
`originalName` (the name it was submitted with); a run carries the same three as an ActiveJob, and `jobHandle`,
`jobName` and `originalJobName` in its JobLog. IPS keeps names unique by appending the submit time
(`Add_2007-09-14-15:04:34`), so a run's name is typically its schedule's name with such a suffix. A run is
matched at the strongest of these levels:

0. the same `jobHandle`;
1. the same name;
2. the run's name without IPS's uniqueness suffix is the schedule's name (a renamed copy of it);
3. the same original name;
4. the run's original name is the schedule's name, or its name without the suffix the schedule's original name.

Names compare case-insensitively, with runs of spaces and underscores alike. From level 1 on, a run whose job
type is known and differs from the schedule's is never matched, so schedules that share a name across job
types stay apart. Several schedules at the best level are told apart by their fire times (the tracker's job).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from notifier.ingest.job_tracker import job_type_from_log
from notifier.models import ActiveJob, JobLog, ScheduledJob

LEVELS = 5
_UNIQUE_SUFFIX = re.compile(r"_\d{4}-\d{2}-\d{2}-\d{2}:\d{2}:\d{2}(?:-\d+)?$")
_SEPARATORS = re.compile(r"[\s_]+")
# Job types that write one log family (`Upload…`), so a log's type and its schedule's can be compared.
_FAMILY_OF = {
    "UploadFromServerDirectory": "Upload",
    "UrlUpload": "Upload",
    "MetadataUpload": "Upload",
    "ServerDirectoryPublishWithTemplate": "ServerDirectoryPublish",
}
_FAMILIES = frozenset(
    {"ImageServingPublish", "ImageRenderingPublish", "ServerDirectoryPublish", "VideoPublish", "Upload",
     "ImageOptimization", "Cleanup"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Run:
    """One run of some job, from the active list or the job logs: what matching and fire times need of it."""

    handle: str
    name: str | None
    original_name: str | None
    family: str | None
    start: datetime | None


def family(job_type: str | None) -> str | None:
    """The job family a type belongs to, or None when it is not a job type we know (a log type like `Error`)."""
    found = _FAMILY_OF.get(job_type or "", job_type)
    return found if found in _FAMILIES else None


def run_of_job(job: ActiveJob) -> Run:
    return Run(job.job_handle or "", job.name, job.original_name, family(job.type), job.start_date)


def run_of_log(log: JobLog) -> Run:
    return Run(
        log.job_handle or "", log.job_name, log.original_job_name, family(job_type_from_log(log)), log.start_date
    )


def stem(name: str) -> str:
    """The name without IPS's uniqueness suffix: `Nightly_publish_2026-03-02-02:00:00` → `Nightly_publish`."""
    return _UNIQUE_SUFFIX.sub("", name)


def normal(name: str | None) -> str:
    return _SEPARATORS.sub(" ", name or "").strip().casefold()


class Matcher:
    """The schedules of one snapshot, indexed by every name a run may carry of them."""

    def __init__(self, schedules: Iterable[ScheduledJob]) -> None:
        self.schedules = {s.key: s for s in schedules if s.key}
        self._handles: dict[str, list[str]] = {}
        self._names: dict[str, list[str]] = {}
        self._labels: dict[str, list[str]] = {}  # normalized name, and name without suffix
        self._originals: dict[str, list[str]] = {}  # normalized original name
        for key, s in self.schedules.items():
            _add(self._handles, s.job_handle, key)
            _add(self._names, s.name, key)
            for label in {normal(s.name), normal(stem(s.name or ""))}:
                _add(self._labels, label, key)
            _add(self._originals, normal(s.original_name), key)

    def __bool__(self) -> bool:
        return bool(self.schedules)

    def candidates(self, run: Run) -> list[ScheduledJob]:
        """The schedules `run` matches at the strongest level that matches at all (see the module docstring)."""
        by_handle = self._handles.get(run.handle, ()) if run.handle else ()
        if by_handle:
            return [self.schedules[k] for k in by_handle]
        bare = normal(stem(run.name)) if run.name else ""
        original = normal(run.original_name)
        probes: tuple[list[str], ...] = (
            self._names.get(run.name or "", []),
            self._labels.get(bare, []) if bare else [],
            self._originals.get(original, []) if original else [],
            (self._labels.get(original, []) if original else []) + (self._originals.get(bare, []) if bare else []),
        )
        for keys in probes:
            found = [s for s in (self.schedules[k] for k in dict.fromkeys(keys)) if _same_kind(s, run)]
            if found:
                return found
        return []

    def identity(self) -> tuple[tuple[str | None, ...], ...]:
        """What matching depends on: when it changes, earlier matches must be worked out again."""
        return tuple(sorted((k, s.name, s.original_name, s.type) for k, s in self.schedules.items()))


def _add(index: dict[str, list[str]], value: str | None, key: str) -> None:
    if value:
        index.setdefault(value, []).append(key)


def _same_kind(schedule: ScheduledJob, run: Run) -> bool:
    """Unknown on either side is no evidence against: a log's type is only its family, when it says one."""
    theirs = family(schedule.type)
    return theirs is None or run.family is None or theirs == run.family
