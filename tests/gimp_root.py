"""The real GIMP 3 the tests run in: a Debian trixie root folder, built (or completed) by a script when missing.

    root = prepare_gimp_root(REPO / "tests" / "gimp" / "build_gimp_root.sh")

With CI=true a root that cannot be had fails the test; elsewhere it skips it (not Linux, not root, no chroot,
SEMANTIC_EDIT_SKIP_GIMP=1). The root lives outside the checkout: ${SEMANTIC_EDIT_GIMP_ROOT:-~/.cache/semantic-edit/
gimp3-root}.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GIMP_ROOT = Path(os.environ.get("SEMANTIC_EDIT_GIMP_ROOT")
                 or Path.home() / ".cache" / "semantic-edit" / "gimp3-root")
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
BUILD_TIMEOUT_S = 900


def skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the real-GIMP test must run in CI, but {reason}")
    pytest.skip(reason)


def prepare_gimp_root(script: Path) -> Path:
    """Runs `script` ROOT (build_gimp_root.sh, or add_resynthesizer.sh which builds first) and returns the root."""
    if os.environ.get("SEMANTIC_EDIT_SKIP_GIMP") == "1" and not IN_CI:
        pytest.skip("SEMANTIC_EDIT_SKIP_GIMP=1")
    if not sys.platform.startswith("linux"):
        skip_or_fail("the GIMP 3 root needs Linux (debootstrap + chroot)")
    if os.geteuid() != 0:
        skip_or_fail("building and entering the GIMP 3 root needs root (debootstrap, chroot); run as root, "
                     "or set SEMANTIC_EDIT_SKIP_GIMP=1")
    if shutil.which("chroot") is None:
        skip_or_fail("no chroot command on this machine")
    run = subprocess.run(["bash", str(script), str(GIMP_ROOT)], capture_output=True, text=True,
                         timeout=BUILD_TIMEOUT_S)
    if run.returncode != 0:
        skip_or_fail(f"{script.relative_to(script.parents[2])} failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return GIMP_ROOT
