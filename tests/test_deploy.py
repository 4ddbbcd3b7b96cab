"""The configs shipped for a container and for systemd work where the Dockerfile and the unit put them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from notifier.app.setup import check_all
from notifier.config import load_config

ROOT = Path(__file__).resolve().parents[1]
ENV = {"IPS_USER": "ops@example.com", "IPS_PASSWORD": "secret-password", "DMC_COMPANY": "47"}


def dockerfile_copies() -> dict[str, str]:
    """What the runtime stage copies from the source tree, destination → source."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    return {dest: src for src, dest in re.findall(r"^COPY (?!--from)(\S+) (\S+)$", text, flags=re.MULTILINE)}


def install(layout: dict[str, str], tmp_path: Path) -> Path:
    """Lay the source files out below tmp_path as the packaging does on a real machine."""
    for dest, src in layout.items():
        target = tmp_path / dest.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / src).is_dir():
            shutil.copytree(ROOT / src, target)
        else:
            shutil.copy(ROOT / src, target)
    return tmp_path


def relocated(path: Path, tmp_path: Path, state_dir: str) -> Path:
    """The same config with its absolute state directory moved below tmp_path (tests may not write /var).

    The directory is created, as the Dockerfile (`mkdir -p`) and the unit (`StateDirectory=`) create it.
    """
    (tmp_path / state_dir.lstrip("/")).mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8").replace(f"sqlite:///{state_dir}", f"sqlite:///{tmp_path}{state_dir}")
    path.write_text(text, encoding="utf-8")
    return path


def test_the_image_runs_its_default_config() -> None:
    """The image's entrypoint config is the shipped container config, with the rules beside it."""
    copies = dockerfile_copies()
    assert copies["/etc/notifier/notifier.yaml"] == "deploy/container.yaml"
    assert copies["/etc/notifier/rules"] == "rules"
    entrypoint = 'ENTRYPOINT ["notifier", "run", "--config", "/etc/notifier/notifier.yaml"]'
    assert entrypoint in (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_container_config_checks_in_the_image_layout(tmp_path: Path) -> None:
    """In the image's layout, with the three documented variables, the config loads with its rules and state."""
    root = install({k: v for k, v in dockerfile_copies().items() if k.startswith("/etc/notifier/")}, tmp_path)
    path = relocated(root / "etc/notifier/notifier.yaml", tmp_path, "/var/lib/notifier")
    config = load_config(path, environ=ENV)
    assert config.rules == root / "etc/notifier/rules"
    assert config.state_location.path == tmp_path / "var/lib/notifier/state.db"
    assert config.http.listen == "0.0.0.0:9464"
    assert [c.handle for c in config.companies] == ["47"]
    assert check_all(config) == []  # the shipped rules load and every channel they name exists


def test_systemd_config_checks_in_the_units_layout(tmp_path: Path) -> None:
    """The systemd config, installed as its comments say, loads; its state lives in the unit's StateDirectory."""
    unit = (ROOT / "deploy/dmc-notifier.service").read_text(encoding="utf-8")
    config_path = re.search(r"ExecStart=\S+ run --config (\S+)", unit)
    state_dir = re.search(r"^StateDirectory=(\S+)$", unit, flags=re.MULTILINE)
    assert config_path is not None
    assert state_dir is not None
    etc = Path(config_path.group(1)).parent
    root = install({str(etc / "notifier.yaml"): "deploy/systemd.yaml", str(etc / "rules"): "rules"}, tmp_path)
    path = relocated(root / str(etc).lstrip("/") / "notifier.yaml", tmp_path, f"/var/lib/{state_dir.group(1)}")
    config = load_config(path, environ=ENV)
    assert config.state_location.path == tmp_path / f"var/lib/{state_dir.group(1)}/state.db"
    assert config.rules is not None
    assert check_all(config) == []


def test_systemd_install_steps_use_the_checkout_or_a_wheel() -> None:
    """The package is not published: the steps install `.` from the checkout or a built wheel, never by name."""
    steps = [line for line in (ROOT / "deploy/systemd.yaml").read_text(encoding="utf-8").splitlines() if "pip" in line]
    installs = [line.split("pip install", 1)[1].split()[0].strip(")`") for line in steps if "pip install" in line]
    assert installs == [".", "dmc_notifier-*.whl"]
    assert any("pip wheel --no-deps -w dist ." in line for line in steps)


@pytest.mark.slow
def test_the_wheel_the_systemd_steps_build_carries_rules_templates_and_catalogs(tmp_path: Path) -> None:
    """`pip wheel --no-deps -w dist .` (the documented build) gives a wheel with the shipped rules, the message
    templates and every catalog, so a host installing only the wheel has everything `notifier run` reads."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=55,
    )
    (wheel,) = tmp_path.glob("dmc_notifier-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    rules = {f"notifier/shipped_rules/{p.name}" for p in (ROOT / "rules").glob("*.yaml")}
    templates = {
        f"notifier/{p.relative_to(ROOT / 'notifier')}" for p in (ROOT / "notifier/compose/templates").rglob("*.j2")
    }
    catalogs = {f"notifier/{p.relative_to(ROOT / 'notifier')}" for p in (ROOT / "notifier/i18n/locales").rglob("*.po")}
    assert rules  # every shipped rule file, whatever their number
    assert templates
    assert len(catalogs) == 11  # every supported locale but the source language
    assert rules | templates | catalogs <= names


def test_cluster_config_checks_with_its_database_password_from_a_secret(tmp_path: Path) -> None:
    """The replicas' config names a shared PostgreSQL state whose password comes from a secret file, not the URL."""
    root = install({"/etc/notifier/notifier.yaml": "deploy/cluster.yaml", "/etc/notifier/rules": "rules"}, tmp_path)
    secret = tmp_path / "db_password"
    secret.write_text("a-long-database-password\n", encoding="utf-8")
    env = {**ENV, "DB_PASSWORD_FILE": str(secret)}
    config = load_config(root / "etc/notifier/notifier.yaml", environ=env)
    location = config.state_location
    assert (location.shared, location.password) == (True, "a-long-database-password")
    assert location.url == "postgresql://notifier@db:5432/notifier?sslmode=prefer"
    assert config.cluster.lease == 15.0
    assert check_all(config) == []


def test_compose_runs_replicas_of_the_image_on_the_cluster_config() -> None:
    """deploy/compose.yaml: PostgreSQL with the password as a secret, and two or more replicas mounting
    deploy/cluster.yaml where the image reads its config, the same secret beside it."""
    from notifier.sources.sourcemap import parse_yaml

    compose = parse_yaml((ROOT / "deploy/compose.yaml").read_text(encoding="utf-8"), "compose.yaml").data
    db, notifier = compose["services"]["db"], compose["services"]["notifier"]
    assert db["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/db_password"
    assert notifier["deploy"]["replicas"] >= 2
    assert "./cluster.yaml:/etc/notifier/notifier.yaml:ro" in notifier["volumes"]
    assert notifier["secrets"] == db["secrets"] == ["db_password"]
