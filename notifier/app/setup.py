"""Config, rules and templates read into a setup the daemon can run, all checked together; used at start-up,
by `notifier check` and on reload (which must refuse what it cannot run, and keep what cannot change live).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import structlog

from notifier.app import wiring
from notifier.compose.render import Renderer
from notifier.config import Config, load_config
from notifier.engine.rules import RuleSet, load_rules
from notifier.i18n.catalogs import load_catalogs
from notifier.sources.sourcemap import SourceErrors, load_yaml

log = structlog.get_logger(__name__)
# Settings a running daemon cannot switch; a reload keeps the old ones.
RESTART_ONLY = ("state", "state_password", "cluster")


def load_ruleset(config: Config) -> RuleSet:
    """The configured rules, or none at all when the config names no rules source."""
    if config.rules is None:
        return RuleSet(())
    return load_rules(config.rules, channels=config.channels.keys())


def check_all(config: Config) -> list[str]:
    """Every problem in rules and templates as `file:line: message` (config itself is already valid)."""
    problems: list[str] = []
    rule_names: frozenset[str] | None = None  # unknown while the rules do not load
    try:
        rule_names = load_ruleset(config).names
    except SourceErrors as exc:
        problems.extend(str(e) for e in exc.errors)
    problems.extend(Renderer(config.templates).check(rule_names))
    problems.extend(_catalog_problems())
    return problems


def _catalog_problems() -> list[str]:
    """The catalogs as they are on disk now (an edited `.po` file is checked before a reload would use it)."""
    try:
        load_catalogs()
    except SourceErrors as exc:
        return [str(e) for e in exc.errors]
    return []


def check_files(path: Path) -> list[str]:
    """Every problem of the config at `path`, its rules and its templates, for `notifier check`.

    A config with errors of its own still names its rules and templates: they are checked too, so one run
    shows everything to fix rather than one file at a time.
    """
    try:
        config = load_config(path, verify_state=True)
    except SourceErrors as exc:
        return [str(e) for e in exc.errors] + _check_beside(path) + _catalog_problems()
    return check_all(config)


def _check_beside(path: Path) -> list[str]:
    """Rules and templates named by a config that does not validate, checked as far as they can be found."""
    try:
        data = load_yaml(path).data
    except SourceErrors:
        return []  # the config's own errors say why it cannot be read
    if not isinstance(data, dict):
        return []
    rules, templates = _named_path(path, data.get("rules")), _named_path(path, data.get("templates"))
    channels = data.get("channels", {})
    problems: list[str] = []
    rule_names: frozenset[str] | None = None
    if rules is not None:
        try:
            rule_names = load_rules(rules, channels=list(channels) if isinstance(channels, dict) else None).names
        except SourceErrors as exc:
            problems.extend(str(e) for e in exc.errors)
    if templates is not None and templates.is_dir():
        problems.extend(Renderer(templates).check(rule_names))
    return problems


def _named_path(config: Path, value: object) -> Path | None:
    """A `rules:`/`templates:` value as the config would resolve it; None when it names nothing there yet."""
    if not isinstance(value, str) or not value or "${" in value:
        return None  # an environment variable is only known once the config itself is valid
    try:
        found = config.parent.resolve() / Path(value).expanduser()
    except RuntimeError:  # `~nobody/…`: the config's own errors say so
        return None
    return found if found.exists() else None


def keep_restart_only(config: Config, running: Config) -> Config:
    """`config` with the settings a running daemon cannot switch kept as they run (and a warning per change)."""
    kept: dict[str, object] = {
        k: getattr(running, k) for k in RESTART_ONLY if getattr(config, k) != getattr(running, k)
    }
    if config.poll.queue_size != running.poll.queue_size:
        kept["poll"] = config.poll.model_copy(update={"queue_size": running.poll.queue_size})
    if config.http.listen != running.http.listen:  # the server is bound; `public_url` only shapes messages
        kept["http"] = config.http.model_copy(update={"listen": running.http.listen})
    for key in kept:
        setting = {"poll": "poll.queue_size", "http": "http.listen"}.get(key, key)
        log.warning("this setting changes only on restart; keeping the running value", setting=setting)
    return config.model_copy(update=kept)


class Fresh(NamedTuple):
    """What a reload switches to, read and checked in full before anything switches."""

    config: Config
    rules: RuleSet
    renderer: Renderer  # with the templates and catalogs as they are on disk now


def load_for_reload(path: Path) -> Fresh | None:
    """The new setup, or None after logging every problem (the running one then stays).

    Catalogs are read again too, so an edited `.po` file takes effect on SIGHUP like a template does.
    """
    try:
        config = load_config(path)
        rules = load_ruleset(config)
        renderer = wiring.renderer(config, load_catalogs())
    except SourceErrors as exc:
        for error in exc.errors:
            log.error("reload failed, keeping the running configuration", error=str(error))
        return None
    problems = renderer.check()
    for problem in problems:
        log.error("reload failed, keeping the running configuration", error=problem)
    return None if problems else Fresh(config, rules, renderer)
