"""What an operator can fix ends in one line and a non-zero exit, never in a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifier.cli import main
from notifier.store.errors import StateInUse
from notifier.store.sqlite.lock import exclusive

CONFIG = """\
ips: {endpoint: "http://127.0.0.1:9/scene7/services/IpsApiService", user: u, password: p}
companies: [{handle: "47"}]
state: STATE
http: {listen: "LISTEN"}
"""


def config(tmp_path: Path, state: str = "sqlite:///state.db", listen: str = "127.0.0.1:0") -> Path:
    path = tmp_path / "notifier.yaml"
    path.write_text(CONFIG.replace("STATE", state).replace("LISTEN", listen), encoding="utf-8")
    return path


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_second_daemon_on_the_same_state_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """While one daemon holds the state file, another exits 1 saying so, before it could send anything twice."""
    path = config(tmp_path)
    with exclusive(tmp_path / "state.db"):
        assert main(["run", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"error: {tmp_path / 'state.db'} is in use by another notifier" in err
    assert "Traceback" not in err


def test_the_lock_is_per_state_file(tmp_path: Path) -> None:
    """Two holders of one file conflict; different files do not."""
    held = exclusive(tmp_path / "a.db")
    with exclusive(tmp_path / "a.db"), exclusive(tmp_path / "b.db"), pytest.raises(StateInUse):
        held.__enter__()


def test_the_lock_leaves_no_file_behind_and_an_old_lock_file_does_not_block(tmp_path: Path) -> None:
    """The lock is on the database file itself: holding it creates no other file, and a `.lock` file left by an
    older version (or a crash of one) is ignored."""
    (tmp_path / "state.db.lock").write_text("4242\n", encoding="utf-8")
    with exclusive(tmp_path / "state.db"):
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db", "state.db.lock"]
    assert (tmp_path / "state.db.lock").read_text(encoding="utf-8") == "4242\n"


def test_lock_files_are_ignored_by_git() -> None:
    """`git status` in a checkout does not list a state file's lock (nor the state files themselves)."""
    ignored = (Path(__file__).resolve().parents[1] / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {"*.db", "*.db.lock", "*.db-wal", "*.db-shm"} <= set(ignored)


def test_an_http_port_in_use_is_one_line(tmp_path: Path, busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    """`http.listen` on a port already taken ends with exit 1 and the reason, not a traceback."""
    assert main(["run", "--config", str(config(tmp_path, listen=f"127.0.0.1:{busy_port}"))]) == 1
    err = capsys.readouterr().err
    assert "address already in use" in err.lower()
    assert "Traceback" not in err


def test_a_state_path_that_cannot_be_created_is_a_check_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A state file below a regular file is reported by `check` at the `state:` line."""
    (tmp_path / "plain-file").write_text("", encoding="utf-8")
    path = config(tmp_path, state=f"sqlite:///{tmp_path}/plain-file/state.db")
    assert main(["check", "--config", str(path)]) == 1
    assert f"{path}:3: state: {tmp_path / 'plain-file'} is not a directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "localhost"], "--listen must be HOST:PORT"),
        (["--scenario", "nope"], "unknown scenario 'nope'"),
        (["--speed", "-5"], "--speed must be 0"),
    ],
)
def test_simulate_refuses_bad_arguments(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad simulator arguments are named in one line with exit 2."""
    assert main(["simulate", *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", [["check"], ["run"], ["silence", "list"], ["outbox", "list"]])
def test_without_config_the_default_path_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """With no --config and no ./notifier.yaml the error says which file was looked for and how to name another;
    it never prints a line 0."""
    monkeypatch.chdir(tmp_path)
    assert main(command) == 1
    err = capsys.readouterr().err
    assert err == (
        f"error: no --config given and there is no notifier.yaml in {tmp_path}: "
        "pass --config FILE (notifier reads ./notifier.yaml by default)\n"
    )


def test_the_default_config_is_read_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --config, ./notifier.yaml is the config (as the README's examples assume)."""
    config(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 0
    assert capsys.readouterr().out == "notifier.yaml: OK\n"


def test_an_unreadable_file_is_reported_without_a_line_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A problem of the whole file reads `file: message`, never `file:0: message`."""
    assert main(["check", "--config", str(tmp_path / "absent.yaml")]) == 1
    assert capsys.readouterr().err == f"{tmp_path / 'absent.yaml'}: cannot read: No such file or directory\n"


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (
            "sqlite:///missing/dir/state.db",
            "the directory {tmp}/missing/dir does not exist: create it, or point state:",
        ),
        ("sqlite:///~no-such-user-here/state.db", "cannot expand '~no-such-user-here': no such user or home directory"),
    ],
)
def test_a_state_path_that_cannot_be_used_is_said_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], state: str, message: str
) -> None:
    """A state file under a directory that does not exist is refused (not created where nobody looks), and a
    home directory that cannot be expanded is an error, not a traceback."""
    path = config(tmp_path, state=state)
    assert main(["check", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:3: state: {message.format(tmp=tmp_path)}")
    assert not (tmp_path / "missing").exists()


def test_demo_with_its_port_taken_suggests_another(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    """`notifier demo` on a busy port says so in one line and suggests --port, before starting anything."""
    assert main(["demo", "--port", str(busy_port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: port {busy_port} on 127.0.0.1 is not free (")
    assert f"Pick another with --port, e.g. `notifier demo --port {busy_port + 1}`" in err
