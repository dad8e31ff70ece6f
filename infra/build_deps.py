"""Build the dependency layer: Linux arm64 / CPython 3.12 wheels, no Docker.

    .venv/bin/python infra/build_deps.py [--force]

Installs ``infra/requirements-lambda.txt`` with pip's cross-platform options into
``.requirements/layer/python`` (a Lambda layer's ``python/`` is on ``sys.path`` as
``/opt/python``); ``serverless.yml`` declares ``.requirements/layer`` as the ``deps`` layer.
pydantic-core is compiled, so only binary wheels for manylinux aarch64 are accepted; pip
refuses rather than building an sdist for the wrong machine. boto3/botocore are left to the
Lambda runtime.

Cached: a stamp holds the hash of the requirements and these options; an unchanged layer is
not rebuilt, so repeat packaging is offline. A first build needs the package index (or a
warm pip cache).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "infra" / "requirements-lambda.txt"
LAYER = ROOT / ".requirements" / "layer"  # git-ignored; never touched by setuptools
TARGET = LAYER / "python"
STAMP = LAYER / ".requirements-hash"
PIP_PLATFORM = [
    "--platform",
    "manylinux2014_aarch64",
    "--platform",
    "manylinux_2_28_aarch64",
    "--implementation",
    "cp",
    "--python-version",
    "3.12",
    "--abi",
    "cp312",
    "--only-binary=:all:",
]
# Never shipped: the runtime has them, or they are only build/test tooling.
PRUNE = ("boto3", "botocore", "s3transfer", "pip", "setuptools", "wheel", "bin")


def main(argv: list[str]) -> int:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes() + " ".join(PIP_PLATFORM).encode())
    wanted = digest.hexdigest()
    if "--force" not in argv and STAMP.is_file() and STAMP.read_text() == wanted:
        print(f"dependency layer up to date: {TARGET.relative_to(ROOT)}")
        return 0
    if LAYER.exists():
        shutil.rmtree(LAYER)
    TARGET.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        *PIP_PLATFORM,
        "--target",
        str(TARGET),
        "--requirement",
        str(REQUIREMENTS),
    ]
    subprocess.run(command, check=True)  # noqa: S603 - fixed argv
    _prune(TARGET)
    STAMP.write_text(wanted)
    print(f"dependency layer built: {TARGET.relative_to(ROOT)}")
    return 0


def _prune(target: Path) -> None:
    for name in PRUNE:
        for path in target.glob(f"{name}*"):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    for cache in list(target.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
