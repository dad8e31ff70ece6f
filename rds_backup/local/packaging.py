"""Package the Serverless stacks and read back what would be deployed.

Used by the local AWS harness (rules and patterns come from the generated CloudFormation, so
what is tested is what is deployed) and by ``tests/infra``. Never shipped to Lambda.

``package("main")`` builds the Linux arm64 dependency layer (``infra/build_deps.py``) and runs
``serverless package`` for the source-region service; ``package("target")`` does the same for
the target-region forwarder in ``infra/target-region``.

Each build runs in a private copy of the service (the sources, ``node_modules`` and the layer
linked in) and its output moves to ``.requirements/package/<stack>/<hash>/``, named by a hash
of exactly what was packaged (serverless files, ``infra/**``, handler/event/domain sources,
the layer requirements). A finished directory is never changed again, so a reader holding a
path is never disturbed by a later build; an unchanged tree is not repackaged. An exclusive
file lock makes concurrent callers (pytest-xdist workers, the harness) wait for one build
instead of racing. The package-time defaults of ``infra/config.yml`` are always used (the
caller's environment is not passed on); ``package_variant`` packages with chosen settings.
``npm run package`` is separate: it writes the services' own ``.serverless/`` directories.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

Stack = Literal["main", "target", "vault"]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "cloudformation-template-update-stack.json"
STAGE = "dev"
# What the artifacts are made of; a change to any of these repackages.
FILES = ("serverless.yml", "package.json", "pyproject.toml")
SOURCES = ("handlers", "events", "rds_backup", "infra")
SOURCE_SUFFIXES = {".py", ".json", ".yml", ".yaml", ".html", ".txt", ".j2", ".sh", ".typed"}
SKIP_DIRS = {"__pycache__", ".serverless", "node_modules", ".mypy_cache", ".pytest_cache"}
SERVICE_DIRS: dict[Stack, Path] = {
    "main": Path("."),
    "target": Path("infra/target-region"),
    "vault": Path("infra/vault"),
}
# Git-ignored; outputs, locks and build copies of the Serverless side live here.
WORK = ROOT / ".requirements"
KEEP_BUILDS = 3  # per stack; older ones are removed once nobody can still be reading them
STALE_AFTER_S = 600


class PackagingError(RuntimeError):
    """Packaging could not run or failed; the message says what to do."""


def package(stack: Stack, *, force: bool = False) -> Path:
    """Package ``stack`` if its inputs changed; return the directory holding
    ``cloudformation-template-update-stack.json`` and the zips."""
    builds = WORK / "package" / stack
    with file_lock(WORK / f"package-{stack}.lock"):
        cached = builds / _inputs_hash(ROOT, stack)[:16]
        if not force and (cached / TEMPLATE).is_file():
            return cached
        serverless = _serverless_bin()
        _build_layer()  # both stacks ship it (the target's drill probe too)
        builds.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=builds, prefix="build-") as scratch:
            copy = _copy_service(Path(scratch))
            # Named by what was copied, not by what the tree holds now: sources may change
            # while we build.
            out = builds / _inputs_hash(copy, stack)[:16]
            service = copy / SERVICE_DIRS[stack]
            _run(
                [serverless, "package", "--stage", STAGE],
                cwd=service,
                what=f"serverless package ({stack})",
            )
            if not (service / ".serverless" / TEMPLATE).is_file():
                raise PackagingError(f"serverless package ({stack}) wrote no {TEMPLATE}")
            if out.exists():
                shutil.rmtree(out)
            (service / ".serverless").rename(out)
        _prune(builds, keep=out)
        return out


def package_variant(stack: Stack, settings: Mapping[str, str], workdir: Path) -> Path:
    """Package ``stack`` with ``settings`` (environment names of infra/config.yml, such as
    ``{"STORE_TO_SOURCE_S3": "true"}``) in a copy of the service under ``workdir``.

    Never cached. Returns the directory holding the template and the zips.
    """
    serverless = _serverless_bin()
    if stack == "main":
        with file_lock(WORK / "package-main.lock"):
            _build_layer()
    copy = workdir / "service"
    if copy.exists():
        shutil.rmtree(copy)
    _copy_service(workdir)
    service = copy / SERVICE_DIRS[stack]
    _run(
        [serverless, "package", "--stage", STAGE],
        cwd=service,
        what=f"serverless package ({stack} variant)",
        extra_env=settings,
    )
    return service / ".serverless"


def load_template(stack: Stack) -> dict[str, Any]:
    """The CloudFormation that ``serverless package`` generated for ``stack``."""
    text = (package(stack) / TEMPLATE).read_text(encoding="utf-8")
    template: dict[str, Any] = json.loads(text)
    return template


def artifacts(stack: Stack) -> list[Path]:
    """The zips of ``stack`` (function and layer artifacts), sorted by name."""
    return sorted(package(stack).glob("*.zip"))


def _copy_service(workdir: Path) -> Path:
    """A copy of what serverless reads, under ``workdir/service``; node_modules and the
    built layer are linked, not copied."""
    copy = workdir / "service"
    copy.mkdir(parents=True)
    for name in FILES:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, copy / name)
    ignore = shutil.ignore_patterns(*SKIP_DIRS)
    for top in SOURCES:
        shutil.copytree(ROOT / top, copy / top, ignore=ignore)
    (copy / "node_modules").symlink_to(ROOT / "node_modules")
    (copy / ".requirements").mkdir()
    (copy / ".requirements" / "layer").symlink_to(WORK / "layer")
    return copy


def _serverless_bin() -> str:
    if shutil.which("node") is None:
        raise PackagingError("node is not on PATH: install Node 20+, then run ./scripts/setup")
    binary = ROOT / "node_modules" / ".bin" / "serverless"
    if not binary.exists():
        raise PackagingError(
            f"{binary} is missing: run ./scripts/setup (or `npm ci`) to install osls "
            "from package.json"
        )
    return str(binary)


def _build_layer() -> None:
    _run(
        [sys.executable, str(ROOT / "infra" / "build_deps.py")],
        cwd=ROOT,
        what="dependency layer build (infra/build_deps.py)",
    )


def _run(
    command: list[str], *, cwd: Path, what: str, extra_env: Mapping[str, str] | None = None
) -> None:
    # The package-time defaults of infra/config.yml, never the caller's shell: the template
    # depends only on the hashed inputs, so the cache is sound.
    env = {k: v for k, v in os.environ.items() if k not in _config_env_names()}
    env.update(extra_env or {})
    # Packaging never needs an account; make sure no profile lookups or telemetry happen.
    env.setdefault("SLS_TELEMETRY_DISABLED", "1")
    env.setdefault("SLS_NOTIFICATIONS_MODE", "off")
    env.setdefault("SLS_DEPRECATION_DISABLE", "*")
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-4000:]
        raise PackagingError(f"{what} failed (exit {result.returncode}):\n{output}")


def _config_env_names() -> set[str]:
    text = (ROOT / "infra" / "config.yml").read_text(encoding="utf-8")
    return set(re.findall(r"env:([A-Z0-9_]+)", text))


def _inputs_hash(root: Path, stack: Stack) -> str:
    digest = hashlib.sha256()
    files = [root / name for name in FILES]
    for top in SOURCES:
        files.extend(_walk(root / top))
    for path in sorted(set(files)):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    digest.update(stack.encode())
    return digest.hexdigest()


def _walk(top: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in filenames:
            path = Path(dirpath) / name
            if path.suffix in SOURCE_SUFFIXES:
                yield path


def _prune(builds: Path, keep: Path) -> None:
    """Remove all but the newest builds, and only those nobody touched for a while."""
    finished = sorted(
        (p for p in builds.iterdir() if p.is_dir() and not p.name.startswith("build-")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    now = time.time()
    for old in finished[KEEP_BUILDS:]:
        if old != keep and now - old.stat().st_mtime > STALE_AFTER_S:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (xdist workers and the harness share builds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
