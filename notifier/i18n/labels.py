"""Job types and job states as people read them: translated names for every value IPS documents.

IPS sends `ImageServingPublish` and `WaitingClient`; a message says "Image Serving publish" and "Waiting for
the client", in the reader's language. A value a newer API version adds is shown as its words
(`WaitingForApproval` → "Waiting for approval") rather than raw. Webhook bodies keep the raw values: automation
matches on them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from notifier.i18n.catalogs import Catalogs, shipped

PGettext = Callable[[str, str], str]
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z]|[0-9]|$)|[A-Z]?[a-z]+|[0-9]+|[A-Z]+")


def _types(pgettext: PGettext) -> dict[str, str]:
    """Every documented job type (models.JOB_TYPES) and its name; the product names stay as Adobe writes them."""
    return {
        # Translators: a job type; "Image Serving" is the name of an Adobe service, keep it as is.
        "ImageServingPublish": pgettext("job type", "Image Serving publish"),
        # Translators: a job type; "Image Rendering" is the name of an Adobe service, keep it as is.
        "ImageRenderingPublish": pgettext("job type", "Image Rendering publish"),
        "ServerDirectoryPublish": pgettext("job type", "Server directory publish"),
        "ServerDirectoryPublishWithTemplate": pgettext("job type", "Server directory publish with template"),
        "VideoPublish": pgettext("job type", "Video publish"),
        "UploadFromServerDirectory": pgettext("job type", "Upload from server directory"),
        "UrlUpload": pgettext("job type", "Upload from URLs"),
        "MetadataUpload": pgettext("job type", "Metadata upload"),
        "ImageOptimization": pgettext("job type", "Image optimization"),
        "Cleanup": pgettext("job type", "Cleanup"),
    }


def _states(pgettext: PGettext) -> dict[str, str]:
    """Every documented active-job state (models.ACTIVE_JOB_STATES) and its name."""
    return {
        # Translators: a job state, shown as "State: Unknown" and in "Job … is now Unknown".
        "Unknown": pgettext("job state", "Unknown"),
        # Translators: a job state: the job was just submitted.
        "New": pgettext("job state", "New"),
        # Translators: a job state: the job waits for the client (the uploading application) to send more.
        "WaitingClient": pgettext("job state", "Waiting for the client"),
        # Translators: a job state: the job waits for the IPS server that coordinates jobs to schedule it.
        "WaitingCoordinator": pgettext("job state", "Waiting for the coordinator"),
        # Translators: a job state, shown as "State: Running" and in "Job … is now Running".
        "Running": pgettext("job state", "Running"),
        # Translators: a job state: the job is being stopped.
        "Stopping": pgettext("job state", "Stopping"),
        # Translators: a job state: the job has finished.
        "Done": pgettext("job state", "Done"),
    }


def readable(raw: str) -> str:
    """A value we have no name for, as words: `WaitingForApproval` → `Waiting for approval`, `PDFRip` → `PDF rip`."""
    words = _WORD.findall(raw)
    if not words:
        return raw
    shown = [words[0]] + [w if w.isupper() and len(w) > 1 else w.lower() for w in words[1:]]
    return " ".join(shown)


@lru_cache(maxsize=64)  # per catalogs read (start-up, each reload) and locale
def _names(catalogs: Catalogs, locale: str) -> tuple[dict[str, str], dict[str, str]]:
    pgettext = catalogs.get(locale).pgettext
    return _types(pgettext), _states(pgettext)


def type_name(value: str | None, locale: str, catalogs: Catalogs | None = None) -> str:
    """The job type's name in `locale`'s catalog; "" for no value."""
    if not value:
        return ""
    return _names(catalogs or shipped(), locale)[0].get(value) or readable(value)


def state_name(value: str | None, locale: str, catalogs: Catalogs | None = None) -> str:
    """The job state's name in `locale`'s catalog; "" for no value."""
    if not value:
        return ""
    return _names(catalogs or shipped(), locale)[1].get(value) or readable(value)
