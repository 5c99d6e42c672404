"""The main command from a clean clone: ``bash .ci/lab --no-browser`` serves the quickstart.

Tried as a newcomer would: ``git clone`` the repository, run the command, and ask the server
it starts for the quickstart, once as root (a container, a classroom server) and once as an
ordinary user. The clone reuses the environment these tests run in instead of installing
torch again: its ``.venv`` is a fresh virtual environment whose one ``.pth`` line adds this
environment's site-packages, plus the install stamp that ``.ci/bootstrap`` looks for, so the
bootstrap goes straight to JupyterLab. Only that install step is not exercised here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.lab import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = "notebooks/00_quickstart.ipynb"
QUICKSTART_NAME = "00_quickstart.ipynb"
START_TIMEOUT_S = 120.0
URL_PATTERN = re.compile(r"http://127\.0\.0\.1:(\d+)/\S*\?token=([0-9a-f]+)")


@dataclass(frozen=True)
class Account:
    """Who runs the command: a user name, ids, and whether it is root."""

    name: str
    uid: int
    gid: int

    @property
    def is_root(self) -> bool:
        return self.uid == 0


def _current_account() -> Account:
    entry = pwd.getpwuid(os.geteuid())
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


@contextlib.contextmanager
def _ordinary_account() -> Iterator[Account]:
    """This user when not root; as root a throwaway user made with ``useradd`` (then removed)."""
    if os.geteuid() != 0:
        yield _current_account()
        return
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        pytest.skip("running as root without useradd/userdel: cannot make an ordinary user")
    name = f"swlab{secrets.token_hex(3)}"
    made = subprocess.run(
        ["useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", name],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"useradd could not make an ordinary user: {made.stderr.strip()}")
    try:
        entry = pwd.getpwnam(name)
        yield Account(name, entry.pw_uid, entry.pw_gid)
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def _python_for(account: Account) -> str:
    """A Python of this minor version that ``account`` may run, or skip the test."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [
        os.path.realpath(sys._base_executable),  # the interpreter this environment was made from
        shutil.which(f"python{version}"),
        f"/usr/bin/python{version}",
    ]
    for candidate in dict.fromkeys(c for c in candidates if c):
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                cwd="/",
                user=None if account.uid == os.geteuid() else account.uid,
            )
        except OSError:  # e.g. an interpreter under /root, which other users cannot reach
            continue
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    pytest.skip(f"no Python {version} that user {account.name!r} may run (tried {candidates})")


def _site_packages() -> list[str]:
    """The folders this environment's packages are installed in."""
    return sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})


def _check_environment_readable(account: Account, python: str) -> None:
    """Skip when ``account`` cannot read this environment (e.g. it lives under /root)."""
    if account.uid == os.geteuid():
        return
    probe = subprocess.run(
        [python, "-S", "-c", "import os, sys; [os.listdir(p) for p in sys.argv[1:]]"]
        + _site_packages(),
        capture_output=True,
        text=True,
        cwd="/",
        user=account.uid,
    )
    if probe.returncode != 0:
        pytest.skip(f"user {account.name!r} cannot read the installed packages {_site_packages()}")


def _clean_clone() -> Path:
    """``git clone`` of this repository into a fresh folder that ``account`` owns."""
    parent = Path(tempfile.mkdtemp(prefix="sketchwidgets-clone-"))
    clone = parent / "sketchwidgets"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True, timeout=120)
    (parent / "home").mkdir()
    return parent


def _reuse_this_environment(clone: Path, python: str) -> None:
    """``clone/.venv``: a virtual environment that sees these site-packages, stamped installed."""
    venv = clone / ".venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    adds = "".join(f"site.addsitedir({path!r}); " for path in _site_packages())
    pth = venv / "lib" / version / "site-packages" / "reuse_installed_environment.pth"
    pth.write_text(f"import site; {adds}\n")
    for script in ("jupyter", "jupyter-lab"):  # console scripts, pointed at the clone's python
        source = Path(sys.prefix, "bin", script).read_text().splitlines(keepends=True)
        target = venv / "bin" / script
        target.write_text(f"#!{venv / 'bin' / 'python'}\n" + "".join(source[1:]))
        target.chmod(0o755)
    projects = ("pyproject.toml", "sketchwidgets/web/runtime_dist/pyproject.toml")  # as bootstrap
    digest = hashlib.sha1(b"".join((clone / p).read_bytes() for p in projects)).hexdigest()[:12]
    (venv / f".sketchwidgets-installed-{digest}").touch()


def _give_to(folder: Path, account: Account) -> None:
    if account.uid == os.geteuid():
        return
    for path in [folder, *folder.rglob("*")]:
        os.lchown(path, account.uid, account.gid)


def _lab_environment(home: Path) -> dict[str, str]:
    """A newcomer's environment: a fresh home, none of this session's Jupyter settings."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    keep.pop("PYTHONPATH", None)
    return {**keep, "HOME": str(home), "OMP_NUM_THREADS": "1"}


def _wait_for_url(process: subprocess.Popen, log: Path, deadline: float) -> tuple[str, str]:
    """(port, token) from the URL the server prints; fail with its log if it stops first."""
    while time.monotonic() < deadline:
        match = URL_PATTERN.search(log.read_text(errors="replace"))
        if match:
            return match.group(1), match.group(2)
        if process.poll() is not None:
            break
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:]
    pytest.fail(f"bash .ci/lab printed no URL (exit code {process.poll()}); its output:\n{tail}")


def _get(url: str, token: str, deadline: float) -> tuple[int, bytes]:
    """GET ``url`` with the token; retries until the server answers or time runs out."""
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _stop(process: subprocess.Popen) -> None:
    """End the server's process group: SIGTERM, then SIGKILL after 15 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(15)


def _serves_quickstart(account: Account) -> None:
    """Clone, run ``bash .ci/lab --no-browser --port=N`` as ``account``, fetch the quickstart."""
    python = _python_for(account)
    _check_environment_readable(account, python)
    parent = _clean_clone()
    clone, home = parent / "sketchwidgets", parent / "home"
    log = parent / "lab.log"
    try:
        _reuse_this_environment(clone, python)
        _give_to(parent, account)
        port = free_port()
        with log.open("w") as out:
            process = subprocess.Popen(
                ["bash", ".ci/lab", "--no-browser", f"--port={port}"],
                cwd=clone,
                env=_lab_environment(home),
                stdout=out,
                stderr=subprocess.STDOUT,
                user=None if account.uid == os.geteuid() else account.uid,
                group=None if account.uid == os.geteuid() else account.gid,
                extra_groups=None if account.uid == os.geteuid() else [],
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            served_port, token = _wait_for_url(process, log, deadline)
            base = f"http://127.0.0.1:{served_port}"
            # .ci/lab opens notebooks/00_quickstart.ipynb, so JupyterLab serves notebooks/
            status, page = _get(f"{base}/lab/tree/{QUICKSTART_NAME}", token, deadline)
            api_status, body = _get(f"{base}/api/contents/{QUICKSTART_NAME}", token, deadline)
        finally:
            _stop(process)
        output = log.read_text(errors="replace")
        assert "[sketchwidgets] installing" not in output, "the clone reinstalled: " + output
        assert served_port == str(port), output
        assert (status, api_status) == (200, 200), output[-3000:]
        assert b"JupyterLab" in page
        served = json.loads(body)
        on_disk = json.loads((clone / QUICKSTART).read_text())
        assert served["type"] == "notebook"
        assert [cell["source"] for cell in served["content"]["cells"]] == [
            "".join(cell["source"]) for cell in on_disk["cells"]
        ]
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@pytest.mark.timeout(300)
def test_lab_serves_the_quickstart_as_root():
    """As root JupyterLab starts only with --allow-root, which .ci/lab adds itself."""
    if os.geteuid() != 0:
        pytest.skip("not running as root (the ordinary-user test covers this account)")
    _serves_quickstart(_current_account())


@pytest.mark.timeout(300)
def test_lab_serves_the_quickstart_as_an_ordinary_user():
    with _ordinary_account() as account:
        _serves_quickstart(account)
