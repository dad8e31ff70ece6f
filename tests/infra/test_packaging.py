"""rds_backup.local.packaging: cached on its inputs, clear when it cannot run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rds_backup.local import packaging
from tests.infra.conftest import Packaged


def test_given_unchanged_inputs_when_packaged_again_then_the_cached_output_is_reused(
    main_stack: Packaged, target_stack: Packaged
) -> None:
    started = time.monotonic()
    assert packaging.package("main") == main_stack.directory
    assert packaging.package("target") == target_stack.directory
    assert time.monotonic() - started < 2.0
    assert packaging.load_template("main") == main_stack.template


def test_given_no_node_modules_when_packaging_then_the_error_says_to_run_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packaging, "ROOT", tmp_path)
    with pytest.raises(packaging.PackagingError, match=r"scripts/setup"):
        packaging._serverless_bin()
