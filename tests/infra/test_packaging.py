"""rds_backup.local.packaging: cached on its inputs, clear when it cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest

from rds_backup.local import packaging
from tests.infra.conftest import Packaged


def test_given_unchanged_inputs_when_packaged_again_then_the_cached_output_is_reused(
    main_stack: Packaged, target_stack: Packaged, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fixtures packaged already (other sessions may have changed sources since: then
    # the first calls here build once more; the second calls must not).
    first = packaging.package("main"), packaging.package("target")

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("packaged again although nothing changed")

    monkeypatch.setattr(packaging, "_run", no_build)
    assert (packaging.package("main"), packaging.package("target")) == first
    assert (first[0] / packaging.TEMPLATE).is_file()


def test_given_no_node_modules_when_packaging_then_the_error_says_to_run_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packaging, "ROOT", tmp_path)
    with pytest.raises(packaging.PackagingError, match=r"scripts/setup"):
        packaging._serverless_bin()
