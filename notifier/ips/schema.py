"""The IPS response types the notifier reads: element names, model attributes and xsd types, in schema order.

`render` writes responses from these tables and the simulator's WSDL is generated from them, so what the
simulator sends and what it says it sends cannot drift apart. Order, array item names and which elements are
required follow Adobe's published schema (the generated class docs of the 2016–2022 schemas); the parser reads
by name and accepts more than this, as real servers vary.
"""

from __future__ import annotations

# (element, model attribute, xsd type or the name of a nested array type), in schema order.
Field = tuple[str, str, str]

TASK_PROGRESS_FIELDS: tuple[Field, ...] = (
    ("taskType", "task_type", "string"),
    ("taskState", "task_state", "string"),
    ("numProcessed", "num_processed", "int"),
    ("numProcessing", "num_processing", "int"),
    ("numPending", "num_pending", "int"),
    ("progress", "progress", "double"),
    ("progressMessage", "progress_message", "string"),
    ("lastProgressUpdate", "last_progress_update", "dateTime"),
    ("taskItemProgressArray", "task_item_progress", "TaskItemProgressArray"),
)
# TaskItemProgress children are kept as name/text pairs (servers vary); these are the published ones, in order.
TASK_ITEM_ELEMENTS: tuple[tuple[str, str], ...] = (
    ("itemName", "string"),
    ("progress", "double"),
    ("progressMessage", "string"),
    ("lastProgressUpdate", "dateTime"),
)
ACTIVE_JOB_FIELDS: tuple[Field, ...] = (
    ("companyHandle", "company_handle", "string"),
    ("jobHandle", "job_handle", "string"),
    ("name", "name", "string"),
    ("originalName", "original_name", "string"),
    ("type", "type", "string"),
    ("state", "state", "string"),
    ("submitUserEmail", "submit_user_email", "string"),
    ("locale", "locale", "string"),
    ("description", "description", "string"),
    ("serverName", "server_name", "string"),
    ("startDate", "start_date", "dateTime"),
    ("triggerTime", "trigger_time", "dateTime"),
    ("totalSize", "total_size", "long"),
    ("progress", "progress", "int"),
    ("progressMessage", "progress_message", "string"),
    ("lastProgressUpdate", "last_progress_update", "dateTime"),
    ("taskProgressArray", "task_progress", "TaskProgressArray"),
)
# The job-type detail (imageServingPublishJob …) follows the fields above; its element name is its kind.
JOB_DETAIL_FIELDS: tuple[Field, ...] = (
    ("publishType", "publish_type", "string"),
    ("emailSetting", "email_setting", "string"),
    ("httpCompletionUrl", "http_completion_url", "string"),
)
AUX_FIELDS: tuple[Field, ...] = (
    ("logMessage", "log_message", "string"),
    ("logType", "log_type", "string"),
    ("dateCreated", "date_created", "dateTime"),
)
LOG_DETAIL_FIELDS: tuple[Field, ...] = (
    ("logMessage", "log_message", "string"),
    ("logType", "log_type", "string"),
    ("dateCreated", "date_created", "dateTime"),
    ("assetName", "asset_name", "string"),
    ("assetType", "asset_type", "string"),
    ("assetHandle", "asset_handle", "string"),
    ("auxArray", "aux", "JobLogDetailAuxArray"),
)
JOB_LOG_FIELDS: tuple[Field, ...] = (
    ("companyHandle", "company_handle", "string"),
    ("jobHandle", "job_handle", "string"),
    ("jobName", "job_name", "string"),
    ("originalJobName", "original_job_name", "string"),
    ("submitUserEmail", "submit_user_email", "string"),
    ("logType", "log_type", "string"),
    ("jobSubType", "job_sub_type", "string"),
    ("startDate", "start_date", "dateTime"),
    ("endDate", "end_date", "dateTime"),
    ("description", "description", "string"),
    ("fileSuccessCount", "file_success_count", "int"),
    ("fileErrorCount", "file_error_count", "int"),
    ("fileWarningCount", "file_warning_count", "int"),
    ("fileDuplicateCount", "file_duplicate_count", "int"),
    ("fileUpdateCount", "file_update_count", "int"),
    ("totalFileCount", "total_file_count", "int"),
    ("transferSuccessCount", "transfer_success_count", "int"),
    ("transferErrorCount", "transfer_error_count", "int"),
    ("transferWarningCount", "transfer_warning_count", "int"),
    ("fatalError", "fatal_error", "boolean"),
    ("detailTotalRows", "detail_total_rows", "int"),
    ("detailArray", "details", "JobLogDetailArray"),
)
COMPANY_FIELDS: tuple[Field, ...] = (
    ("companyHandle", "company_handle", "string"),
    ("name", "name", "string"),
    ("rootPath", "root_path", "string"),
    ("expires", "expires", "dateTime"),
)
SCHEDULED_JOB_FIELDS: tuple[Field, ...] = (
    ("companyHandle", "company_handle", "string"),
    ("jobHandle", "job_handle", "string"),
    ("name", "name", "string"),
    ("originalName", "original_name", "string"),
    ("type", "type", "string"),
    ("submitUserEmail", "submit_user_email", "string"),
    ("locale", "locale", "string"),
    ("description", "description", "string"),
    ("execSchedule", "exec_schedule", "string"),
    ("nextFireTime", "next_fire_time", "dateTime"),
    ("timeZone", "time_zone", "string"),
    ("triggerState", "trigger_state", "string"),
)
# Nested array types: the name of their repeated child and the fields of each item (None: free-form pairs).
# Every array repeats `items` (Adobe's markdown pages say `item` for the task arrays; its schema says `items`).
ARRAY_TYPES: dict[str, tuple[str, tuple[Field, ...] | None]] = {
    "TaskProgressArray": ("items", TASK_PROGRESS_FIELDS),
    "TaskItemProgressArray": ("items", None),
    "JobLogDetailArray": ("items", LOG_DETAIL_FIELDS),
    "JobLogDetailAuxArray": ("items", AUX_FIELDS),
}
# Elements a server may leave out (minOccurs="0") of the types whose published schema we have; every other
# element of those types is required. Types absent here are not published in full: all their elements count as
# optional. The job-type details of an ActiveJob are optional too (a job has one at most).
OPTIONAL: dict[str, frozenset[str]] = {
    "ActiveJob": frozenset({"locale", "description", "taskProgressArray"}),
    "TaskProgress": frozenset(),
    "TaskItemProgress": frozenset(),
    "JobLog": frozenset({"startDate", "endDate", "detailTotalRows", "detailArray"}),
    "JobLogDetail": frozenset({"assetName", "assetType", "assetHandle", "auxArray"}),
}


def required(type_name: str, element: str) -> bool:
    """Whether the published schema requires `element` in `type_name`."""
    optional = OPTIONAL.get(type_name)
    return optional is not None and element not in optional


# getJobLogDetailsParam members that newer schemas have and the older published WSDL does not.
DETAIL_PAGING = ("logTypeArray", "recordsPerPage", "resultsPage", "sortBy", "sortDirection")
