"""Named scenarios: which companies exist, which jobs run when and how they end, and how the service behaves.

A scenario is frozen data; the `World` turns it into jobs on a simulated clock. Times are seconds relative
to the world's start (negative: the job was already running when the simulator started).

- demo: a bit of everything within about a minute at speed 1, then a steady trickle of new jobs; schedules that
  run on time, one that misses its third run, one whose trigger breaks at its second fire, one paused.
- progress: jobs progressing steadily to completion.
- stall: one job stalled since before the start, one that stalls while watched, one that completes.
- failure: fatal publish failures (en-US, ja-JP) and a job that ends with file errors.
- warnings: jobs that complete with warnings.
- locales: a company per locale (en-US, de-DE, ja-JP, zh-CN, fr-FR), each with an errors and a warnings job.
- auth-failure: every call gets authenticationFault 10001.
- flaky: like progress, but calls randomly get 502/503/504 or slow answers.
- scale: `companies` × `jobs` long-running jobs, replenished as they finish, for benchmarks.
- fleet: the same with jobs of every type, as a busy account runs them.
- schedules: scheduled jobs only: on time (two of one job type, one a renamed copy of the other), one missing
  its second run, one whose trigger breaks at its third fire, one paused at its second, a daily one in Berlin.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notifier.ips.simulator.chaos import FlakySpec
from notifier.ips.simulator.schedules import ScheduleSpec
from notifier.models import JOB_TYPES, Company

_EXPIRES = datetime.fromisoformat("2030-12-31T23:59:59+00:00")


@dataclass(frozen=True, slots=True)
class SimCompany:
    handle: str
    name: str
    locale: str
    users: tuple[str, ...]

    def info(self) -> Company:
        return Company(company_handle=self.handle, name=self.name, root_path=f"{self.name}/", expires=_EXPIRES)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job a scenario starts; locale and user default to the company's."""

    company: str
    type: str
    outcome: str
    original_name: str
    start_after: float = 0.0
    run: float = 30.0
    queued: float = 2.0
    files: int = 10
    locale: str | None = None
    user: str | None = None
    description: str | None = None
    publish_type: str | None = None
    email_setting: str | None = "ErrorAndWarning"
    http_completion_url: str | None = None
    stall_files: int = 0


SPAWN_TYPES = ("ImageServingPublish", "UrlUpload", "VideoPublish", "ImageRenderingPublish")


@dataclass(frozen=True, slots=True)
class SpawnSpec:
    """New random jobs arriving on average every `every` seconds, the first no earlier than `after`."""

    every: float
    after: float = 0.0
    types: tuple[str, ...] = SPAWN_TYPES
    outcomes: tuple[tuple[str, float], ...] = (("success", 0.7), ("warnings", 0.15), ("errors", 0.1), ("failure", 0.05))
    files: tuple[int, int] = (5, 30)
    run: tuple[float, float] = (20.0, 90.0)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    companies: tuple[SimCompany, ...]
    jobs: tuple[JobSpec, ...] = ()
    spawn: SpawnSpec | None = None
    schedules: tuple[ScheduleSpec, ...] = ()
    flaky: FlakySpec | None = None
    auth_failure: bool = False


PLANETARY = SimCompany(
    "47", "Planetary", "en-US", ("maria.lopez@planetary.example.com", "sam.chen@planetary.example.com")
)
NORDWIND = SimCompany("118", "Nordwind Moden", "de-DE", ("jonas.becker@nordwind.example.com",))
SAKURA = SimCompany("203", "Sakura Interiors", "ja-JP", ("haruka.sato@sakura.example.com",))
LUMIERE = SimCompany("311", "Lumière Maison", "fr-FR", ("claire.dubois@lumiere.example.com",))
HAITIAN = SimCompany("512", "Haitian Outdoor", "zh-CN", ("li.wei@haitian.example.com",))
_HOOK = "https://hooks.planetary.example.com/dmc/publish-complete"


def demo() -> Scenario:
    jobs = (
        JobSpec("47", "ImageServingPublish", "success", "Spring catalogue", -20, run=48, files=24, publish_type="Full",
                http_completion_url=_HOOK, description="Spring catalogue, all regions"),
        JobSpec("311", "ImageServingPublish", "stall", "Bannières page d’accueil", -1500, run=600, files=20,
                stall_files=8, publish_type="Incremental"),
        JobSpec("203", "ImageServingPublish", "failure", "秋の新作カタログ", 5, run=25, files=30, publish_type="Full"),
        JobSpec("512", "UrlUpload", "warnings", "夏季户外系列", -10, run=45, files=15),
        JobSpec("118", "VideoPublish", "success", "Herbstkollektion Lookbook", 0, run=43, files=6),
        JobSpec("47", "UploadFromServerDirectory", "success", "Holiday assets", 10, run=40, files=12, locale="en-US"),
        JobSpec("311", "ServerDirectoryPublish", "errors", "Catalogue printemps", 15, run=38, files=16),
    )  # fmt: skip
    return Scenario("demo", _LOCALE_COMPANIES, jobs, SpawnSpec(every=20, after=60), _DEMO_SCHEDULES)


def progress() -> Scenario:
    jobs = tuple(
        JobSpec(company, "ImageServingPublish", "success", name, 0, run=run, files=files, publish_type="Full")
        for company, name, run, files in (("47", "Product images", 30, 10), ("47", "Lookbook", 60, 20),
                                          ("118", "Winterkollektion", 90, 30))
    )  # fmt: skip
    spawn = SpawnSpec(every=45, after=100, outcomes=(("success", 1.0),))
    return Scenario("progress", (PLANETARY, NORDWIND), jobs, spawn)


def stall() -> Scenario:
    jobs = (
        JobSpec("47", "ImageServingPublish", "stall", "Homepage banners", -1800, run=600, files=20, stall_files=5),
        JobSpec("47", "ImageServingPublish", "stall", "Outlet images", 0, run=30, files=20, stall_files=12),
        JobSpec("47", "UrlUpload", "success", "Supplier feed", 0, run=40, files=8),
    )
    return Scenario("stall", (PLANETARY,), jobs)


def failure() -> Scenario:
    jobs = (
        JobSpec("47", "ImageServingPublish", "failure", "Flash sale", 0, run=18, files=12, publish_type="Full"),
        JobSpec("203", "ImageServingPublish", "failure", "秋の新作カタログ", 0, run=28, files=30, publish_type="Full"),
        JobSpec("118", "ImageRenderingPublish", "errors", "Katalog Seite 4", 0, run=23, files=16),
    )
    return Scenario("failure", (PLANETARY, NORDWIND, SAKURA), jobs)


def warnings() -> Scenario:
    jobs = (
        JobSpec("47", "ImageServingPublish", "warnings", "New arrivals", 0, run=18, files=20, publish_type="Full"),
        JobSpec("512", "UrlUpload", "warnings", "夏季户外系列", 0, run=28, files=15),
    )
    return Scenario("warnings", (PLANETARY, HAITIAN), jobs)


def locales() -> Scenario:
    jobs = tuple(
        JobSpec(company.handle, kind, outcome, f"{company.name} {outcome}", 0, run=run, files=10)
        for company in _LOCALE_COMPANIES
        for kind, outcome, run in (("ImageServingPublish", "errors", 20), ("UrlUpload", "warnings", 30))
    )
    return Scenario("locales", _LOCALE_COMPANIES, jobs)


def auth_failure() -> Scenario:
    jobs = (JobSpec("47", "ImageServingPublish", "success", "Invisible", 0, run=30),)
    return Scenario("auth-failure", (PLANETARY,), jobs, auth_failure=True)


def flaky() -> Scenario:
    return Scenario("flaky", progress().companies, progress().jobs, progress().spawn, flaky=FlakySpec())


def scale(companies: int = 10, jobs: int = 100) -> Scenario:
    """`jobs` active per company in steady state: as one finishes, new ones arrive at the same rate."""
    return _busy("scale", companies, jobs, ("ImageServingPublish",), SPAWN_TYPES)


def fleet(companies: int = 10, jobs: int = 100) -> Scenario:
    """Like `scale`, with jobs of every type (publishes, uploads, video with transcoding tasks, cleanups)."""
    return _busy("fleet", companies, jobs, JOB_TYPES, JOB_TYPES)


def _busy(name: str, companies: int, jobs: int, types: tuple[str, ...], arriving: tuple[str, ...]) -> Scenario:
    """`types`: of the jobs running at the start; `arriving`: of those that replace them."""
    if companies < 1 or jobs < 0:
        raise ValueError(f"{name} needs companies >= 1 and jobs >= 0")
    rng = random.Random(f"{name}:{companies}:{jobs}")
    fleet = tuple(
        SimCompany(str(1000 + i), f"Company {i + 1:03d}", ("en-US", "de-DE", "ja-JP", "zh-CN", "fr-FR")[i % 5],
                   (f"ops{i + 1}@company{i + 1:03d}.example.com",))
        for i in range(companies)
    )  # fmt: skip
    mix = (("success", 0.8), ("warnings", 0.1), ("errors", 0.05), ("failure", 0.04), ("stall", 0.01))
    runs = (120.0, 900.0)
    specs = []
    for company in fleet:
        for n in range(jobs):
            run = rng.uniform(*runs)
            outcome = rng.choices([o for o, _ in mix], [w for _, w in mix])[0]
            start = -rng.uniform(0, run)
            kind = types[0] if len(types) == 1 else rng.choice(types)
            publish = "Incremental" if kind == "ImageServingPublish" else None
            specs.append(JobSpec(company.handle, kind, outcome, f"Batch {n + 1}", start, run=run,
                                 files=rng.randint(10, 200), stall_files=5, publish_type=publish))  # fmt: skip
    every = sum(runs) / 2 / max(companies * jobs, 1)
    # The first arrival waits one interval, so exactly companies × jobs are active at the start.
    spawn = SpawnSpec(every=every, after=every, types=arriving, outcomes=mix, files=(10, 200), run=runs)
    return Scenario(name, fleet, tuple(specs), spawn if jobs else None)


_LOCALE_COMPANIES = (PLANETARY, NORDWIND, SAKURA, HAITIAN, LUMIERE)
_DEMO_SCHEDULES = (
    ScheduleSpec("47", "Nightly full publish", "ImageServingPublish", PLANETARY.users[0], "en-US", "0 0 2 * * ?",
                 "America/Los_Angeles", at=(2, 0), run=300, files=40),
    ScheduleSpec("47", "Price refresh", "ImageServingPublish", PLANETARY.users[1], "en-US", "0 0/2 * * * ?",
                 every_minutes=2, run=30, miss=(2,), description="Prices from the ERP, every two minutes"),
    ScheduleSpec("203", "毎朝の同期", "UploadFromServerDirectory", SAKURA.users[0], "ja-JP", "0 30 3 * * ?",
                 "Asia/Tokyo", at=(3, 30)),
    ScheduleSpec("118", "Feed-Abgleich", "UrlUpload", NORDWIND.users[0], "de-DE", "0 0/3 * * * ?",
                 "Europe/Berlin", every_minutes=3, run=40),
    ScheduleSpec("512", "夏季库存同步", "UrlUpload", HAITIAN.users[0], "zh-CN", "0 0/4 * * * ?", "Asia/Shanghai",
                 every_minutes=4, run=35, trigger_at=((1, "Error"),)),
    ScheduleSpec("311", "Soldes de la semaine", "ImageServingPublish", LUMIERE.users[0], "fr-FR", "0 0 6 * * ?",
                 "Europe/Paris", at=(6, 0), trigger_state="Paused"),
)  # fmt: skip


def schedules() -> Scenario:
    specs = (
        ScheduleSpec("47", "Nightly full publish", "ImageServingPublish", PLANETARY.users[0], "en-US", "0 0 2 * * ?",
                     "America/Los_Angeles", at=(2, 0), run=600, files=40),
        ScheduleSpec("47", "Price refresh", "ImageServingPublish", PLANETARY.users[1], "en-US", "0 0/15 * * * ?",
                     every_minutes=15, run=60, miss=(1,)),
        ScheduleSpec("47", "Price refresh", "ImageServingPublish", PLANETARY.users[1], "en-US", "0 0/15 * * * ?",
                     every_minutes=15, run=60, name="Price_refresh_EU", description="A copy of Price refresh, renamed"),
        ScheduleSpec("47", "Supplier feed", "UrlUpload", PLANETARY.users[0], "en-US", "0 0 * * * ?",
                     every_minutes=60, run=90, trigger_at=((2, "Error"),)),
        ScheduleSpec("47", "Outlet banners", "ImageServingPublish", PLANETARY.users[0], "en-US", "0 0/20 * * * ?",
                     every_minutes=20, trigger_at=((1, "Paused"),)),
        ScheduleSpec("118", "Nachtabgleich", "UploadFromServerDirectory", NORDWIND.users[0], "de-DE",
                     "0 30 2 * * ?", "Europe/Berlin", at=(2, 30), run=120),
    )  # fmt: skip
    return Scenario("schedules", (PLANETARY, NORDWIND), schedules=specs)


SCENARIOS: dict[str, Callable[..., Scenario]] = {
    "demo": demo,
    "progress": progress,
    "stall": stall,
    "failure": failure,
    "warnings": warnings,
    "locales": locales,
    "auth-failure": auth_failure,
    "flaky": flaky,
    "scale": scale,
    "fleet": fleet,
    "schedules": schedules,
}


def build_scenario(name: str, **options: Any) -> Scenario:
    """The scenario `name` built with its options (only `scale` and `fleet` take any: companies=, jobs=)."""
    builder = SCENARIOS.get(name)
    if builder is None:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    unknown = set(options) - set(inspect.signature(builder).parameters)
    if unknown:
        raise ValueError(f"scenario {name!r} takes no option {', '.join(sorted(unknown))}")
    return builder(**options)
