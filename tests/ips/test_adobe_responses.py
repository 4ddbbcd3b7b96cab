"""The client against answers written after Adobe's published schema and reference pages, not our simulator's:
a server on 127.0.0.1 replays hand-written responses (tests/ips/adobe/), and what IpsClient reads is checked
value by value."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from notifier.ips.client import IpsClient, IpsSettings
from notifier.ips.errors import IpsFault
from notifier.models import JobDetail, TaskItemProgress, TaskProgress

FIXTURES = Path(__file__).with_name("adobe")
PDT = timezone(timedelta(hours=-7))


class Replay:
    """Answers each operation (by SOAPAction) with a fixture; a fault fixture with HTTP 500, as IPS does."""

    def __init__(self) -> None:
        self.files = {"getActiveJobs": "getActiveJobs.xml"}
        self.actions: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        action = request.headers["SOAPAction"]
        self.actions.append(action)
        name = self.files.get(action, f"{action}.xml")
        status = 500 if name.startswith("fault") else 200
        body = (FIXTURES / name).read_bytes()
        return web.Response(status=status, body=body, content_type="text/xml", charset="utf-8")


@pytest.fixture
async def replay() -> AsyncIterator[tuple[Replay, IpsClient]]:
    server_side = Replay()
    app = web.Application()
    app.router.add_post("/scene7/services/IpsApiService", server_side.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        settings = IpsSettings(str(server.make_url("/scene7/services/IpsApiService")), "u@example.com", "pw")
        yield server_side, IpsClient(session, settings)
    await server.close()


async def test_active_jobs_are_read_field_by_field(replay: tuple[Replay, IpsClient]) -> None:
    """Handles, states, dates (nanoseconds, offsets, Z), triggerTime, sizes and the publish details as sent."""
    _, client = replay
    publish, video, *_ = await client.get_active_jobs("47")
    assert (publish.job_handle, publish.original_name, publish.type, publish.state) == (
        "47||Add_2007-09-14-15:04:34",
        "Spring catalog",
        "ImageServingPublish",
        "Running",
    )
    assert (publish.locale, publish.description, publish.server_name) == ("de-DE", None, "ips-prod-07")
    assert publish.start_date == datetime(2026, 3, 14, 9, 5, 0, 123456, tzinfo=PDT)
    assert publish.trigger_time == datetime(2026, 3, 14, 9, 4, 58, tzinfo=PDT)
    assert publish.last_progress_update == datetime(2026, 3, 14, 9, 17, 30, tzinfo=UTC)
    assert (publish.total_size, publish.progress, publish.progress_message) == (
        104857600,
        42,
        "Publishing 216 of 515 assets",
    )
    assert publish.detail == JobDetail(
        "imageServingPublishJob", "Full", "ErrorAndWarning", "https://hooks.example.com/purge"
    )
    assert video.detail == JobDetail("videoPublishJob", "Incremental", "None")
    assert video.description == "Campaign films"


async def test_video_task_progress_is_read_in_schema_order(replay: tuple[Replay, IpsClient]) -> None:
    """TaskProgress with taskState second and `items` in both task arrays, each rendition's children kept."""
    _, client = replay
    video = (await client.get_active_jobs("47"))[1]
    (task,) = video.task_progress
    first_item = TaskItemProgress(
        (
            ("itemName", "spring-film.mp4"),
            ("progress", "1.0"),
            ("progressMessage", "Done"),
            ("lastProgressUpdate", "2026-03-14T09:15:00Z"),
        )
    )
    assert task == TaskProgress(
        task_type="VideoTranscode",
        num_processed=1,
        num_processing=1,
        num_pending=0,
        progress=0.5,
        progress_message="Transcoding renditions",
        last_progress_update=datetime(2026, 3, 14, 9, 20, tzinfo=UTC),
        task_item_progress=(first_item, task.task_item_progress[1]),
        task_state="Processing",
    )
    assert dict(task.task_item_progress[1].fields)["itemName"] == "summer-film.mp4"


async def test_the_task_arrays_as_adobe_s_markdown_page_writes_them_are_read_too(
    replay: tuple[Replay, IpsClient],
) -> None:
    """`item` instead of `items` and taskState last: the same task, read leniently."""
    server_side, client = replay
    server_side.files["getActiveJobs"] = "getActiveJobs-markdown.xml"
    (job,) = await client.get_active_jobs("47")
    (task,) = job.task_progress
    assert (task.task_type, task.task_state, task.progress, task.num_processed) == (
        "VideoTranscode",
        "Processing",
        0.5,
        1,
    )
    assert dict(task.task_item_progress[0].fields)["itemName"] == "spring-film.mp4"


@pytest.mark.parametrize(
    ("index", "detail"),
    [
        (2, JobDetail("metadataPublishJob", None, "Error", None, (("metadataFields", "dc:title,dc:rights"),))),
        (
            3,
            JobDetail(
                "createVideoSitemapJob",
                None,
                "JobCompletion",
                None,
                (("sitemapUrl", "https://www.example.com/video-sitemap.xml"),),
            ),
        ),
        (4, JobDetail("automatedSetGenerationJob", None, "All", None, (("scriptName", "swatch-sets"),))),
    ],
)
async def test_newer_job_kinds_have_their_details_read(
    replay: tuple[Replay, IpsClient], index: int, detail: JobDetail
) -> None:
    """metadataPublishJob, createVideoSitemapJob and automatedSetGenerationJob are read like the other kinds:
    the publish settings by name, every other child kept in order."""
    _, client = replay
    jobs = await client.get_active_jobs("47")
    assert jobs[index].detail == detail


async def test_job_logs_are_read_with_every_count(replay: tuple[Replay, IpsClient]) -> None:
    """A finished publish's log: counts, fatal error, dates with fractions and offsets, an empty description."""
    _, client = replay
    (log,) = await client.get_job_logs("47")
    assert (log.job_name, log.original_job_name, log.log_type, log.job_sub_type, log.description) == (
        "Add_2007-09-14-15:04:34",
        "Spring catalog",
        "ImageServingPublish",
        "Full",
        "",
    )
    counts = (log.file_success_count, log.file_error_count, log.file_warning_count, log.total_file_count)
    assert counts == (510, 3, 2, 515)
    assert (log.fatal_error, log.failed, log.has_warnings) == (True, True, True)
    assert log.end_date == datetime(2026, 3, 14, 10, 47, 30, 500000, tzinfo=PDT)
    assert (log.detail_total_rows, log.details) == (None, ())


async def test_log_details_are_read_with_their_dates_assets_and_aux_lines(replay: tuple[Replay, IpsClient]) -> None:
    """Each detail line keeps its localized message, type, creation date and asset; aux lines come along."""
    _, client = replay
    (log,) = await client.get_job_log_details("47", "47||Add_2007-09-14-15:04:34", locale="de-DE")
    begin, error, fatal = log.details
    assert (begin.log_type, begin.date_created, begin.asset_name) == (
        "BeginImageServingPublish",
        datetime(2026, 3, 14, 9, 5, 1, tzinfo=PDT),
        None,
    )
    assert (error.log_message, error.asset_name, error.asset_type, error.asset_handle) == (
        "hero-banner.tif: Farbprofil wird nicht unterstützt",
        "hero-banner.tif",
        "Image",
        "a|47|1|535",
    )
    assert error.date_created == datetime(2026, 3, 14, 9, 40, 12, 250000, tzinfo=PDT)
    assert [a.log_message for a in error.aux] == ["Nach 3 Versuchen aufgegeben"]
    assert (fatal.log_type, log.detail_total_rows) == ("FatalError", 3)


async def test_company_info_and_faults_are_read(replay: tuple[Replay, IpsClient]) -> None:
    """getCompanyInfo's companyInfo, and an authentication fault with its code and reason, never retried hot."""
    server_side, client = replay
    company = await client.get_company_info(company_handle="47")
    assert (company.company_handle, company.name, company.root_path) == ("47", "Planetary", "Planetary/")
    server_side.files["getActiveJobs"] = "fault-authentication.xml"
    with pytest.raises(IpsFault) as caught:
        await client.get_active_jobs("47")
    assert (caught.value.kind, caught.value.code, caught.value.reason) == (
        "authentication",
        10001,
        "Invalid credentials",
    )
    assert caught.value.is_auth
