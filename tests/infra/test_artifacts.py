"""What is shipped: each function's zip holds only its own code; the layer holds the Linux
arm64 / CPython 3.12 wheels; no tests, dev tools, local AWS or node modules anywhere."""

from __future__ import annotations

import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.infra.conftest import Packaged
from tests.infra.support import functions

EM_AARCH64 = 183
FORBIDDEN_PARTS = {
    "tests",
    "node_modules",
    ".venv",
    "moto",
    "pytest",
    "_pytest",
    "hypothesis",
    "ruff",
    "mypy",
    "cfnlint",
    "boto3",
    "botocore",
    "__pycache__",
    "local",
}
TEMPLATE_USERS = {"notify", "reconcile"}  # they render the jinja2 emails


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def _function_zip(main: Packaged, handler: str) -> Path:
    _, body = functions(main.template)[handler]
    key = body["Properties"]["Code"]["S3Key"]
    return main.directory / key.rsplit("/", 1)[1]


@pytest.mark.parametrize(
    "handler",
    ["start_backup", "copy_snapshot", "export_snapshot", "notify", "cleanup", "reconcile"],
)
def test_given_a_function_zip_when_opened_then_it_holds_its_handler_and_the_domain_only(
    main_stack: Packaged, handler: str
) -> None:
    names = _names(_function_zip(main_stack, handler))
    assert f"handlers/{handler}.py" in names
    assert {n for n in names if n.startswith("handlers/")} == {
        "handlers/__init__.py",
        f"handlers/{handler}.py",
    }
    assert "rds_backup/settings.py" in names
    assert "events/rds.py" in names
    assert not [n for n in names if n.startswith("rds_backup/cli/")]
    assert not [n for n in names if n.startswith("rds_backup/ops/")]
    assert not [n for n in names if n.startswith("rds_backup/local/")]
    assert not [n for n in names if n.startswith("events/samples/") and n.endswith(".json")]
    templates = [n for n in names if n.startswith("rds_backup/mail/templates/")]
    assert bool(templates) == (handler in TEMPLATE_USERS)
    for name in names:
        assert not FORBIDDEN_PARTS & set(Path(name).parts[:-1]), name
        assert name.endswith((".py", ".j2", ".typed")), name


def test_given_the_layer_zip_when_opened_then_pydantic_core_is_linux_aarch64_cpython_312(
    main_stack: Packaged,
) -> None:
    layer = main_stack.directory / "deps.zip"
    with zipfile.ZipFile(layer) as archive:
        (so,) = [
            n for n in archive.namelist() if n.startswith("python/pydantic_core/") and ".so" in n
        ]
        assert so.endswith(".cpython-312-aarch64-linux-gnu.so"), so
        header = archive.read(so)[:20]
    assert header[:4] == b"\x7fELF"
    assert header[4] == 2  # 64-bit
    assert struct.unpack("<H", header[18:20])[0] == EM_AARCH64


def test_given_the_layer_zip_when_opened_then_it_holds_the_runtime_deps_and_no_dev_tools(
    main_stack: Packaged,
) -> None:
    names = _names(main_stack.directory / "deps.zip")
    top = {Path(n).parts[1] for n in names if n.startswith("python/") and len(Path(n).parts) > 2}
    for needed in ("aws_lambda_powertools", "pydantic", "pydantic_core", "jinja2"):
        assert needed in top
    assert not FORBIDDEN_PARTS & top
    assert all(n.startswith("python/") for n in names)


# A function's own zip is our code only (dependencies are in the layer): the chain's package
# without the local AWS, the CLI and the samples. 300 kB leaves room for the remedy catalogue
# (model/remedies.py, ~95 kB of text) and the drills; Lambda's own limit is 50 MB zipped
# (Lambda Developer Guide, "Lambda quotas"). Growth past it means something unshipped leaked.
FUNCTION_ZIP_MAX = 300_000


def test_given_the_artifacts_when_measured_then_they_stay_small(main_stack: Packaged) -> None:
    for handler in functions(main_stack.template):
        assert _function_zip(main_stack, handler).stat().st_size < FUNCTION_ZIP_MAX, handler
    # Lambda allows 250 MB unzipped for function + layers; this keeps us far below it.
    with zipfile.ZipFile(main_stack.directory / "deps.zip") as archive:
        assert sum(i.file_size for i in archive.infolist()) < 60_000_000


@pytest.mark.parametrize(
    "handler",
    ["start_backup", "copy_snapshot", "export_snapshot", "notify", "cleanup", "reconcile"],
)
def test_given_a_function_zip_when_its_handler_is_imported_from_it_then_nothing_is_missing(
    main_stack: Packaged, handler: str, tmp_path: Path
) -> None:
    # Our code comes from the zip only; third-party packages from this venv (the layer's
    # wheels are for arm64 / 3.12). Dev-only packages are made unimportable.
    with zipfile.ZipFile(_function_zip(main_stack, handler)) as archive:
        archive.extractall(tmp_path)
    script = (
        "import sys\n"
        "for name in ('moto', 'pytest', 'hypothesis', 'mypy_boto3_rds'):\n"
        "    sys.modules[name] = None\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        f"import handlers.{handler} as module\n"
        f"assert module.__file__.startswith({str(tmp_path)!r}), module.__file__\n"
        "assert callable(module.handler)\n"
        "leaked = [m for m in ('rds_backup.local', 'rds_backup.cli') if m in sys.modules]\n"
        "assert not leaked, leaked\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
