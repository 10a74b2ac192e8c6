"""GIMP 3's Heal Selection baseline (tests/benchmarks/gimp_heal_selection.py) inside a real GIMP 3 with the
resynthesizer. The root folder is the end-to-end test's (${SEMANTIC_EDIT_GIMP_ROOT:-~/.cache/semantic-edit/
gimp3-root}), built when missing, and tests/gimp/add_resynthesizer.sh adds the resynthesizer to it (2-3 minutes the
first time, then reused). With CI=true these tests never skip; elsewhere they skip when no root can be built (not root,
no chroot) or when SEMANTIC_EDIT_SKIP_GIMP=1.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))
from gimp_heal_selection import heal_selection, heal_selection_available  # noqa: E402
from gimp_root import prepare_gimp_root  # noqa: E402

ADD_RESYNTHESIZER = REPO / "tests" / "gimp" / "add_resynthesizer.sh"

SIDE = 96
LEFT, RIGHT, HOLE_COLOUR = (200, 60, 40), (30, 90, 210), (20, 230, 20)
HOLE = (slice(40, 56), slice(16, 32))  # 16 x 16, fully inside the left half


@pytest.fixture(scope="module")
def gimp_root() -> Path:
    """The GIMP 3 root with the resynthesizer, built or completed when missing."""
    root = prepare_gimp_root(ADD_RESYNTHESIZER)
    assert heal_selection_available(root) is None, heal_selection_available(root)
    return root


def test_heal_selection_fills_the_hole_from_its_surroundings_and_leaves_the_rest(gimp_root):
    image = np.empty((SIDE, SIDE, 3), np.uint8)
    image[:, :SIDE // 2] = LEFT
    image[:, SIDE // 2:] = RIGHT
    image[HOLE] = HOLE_COLOUR  # what is under the hole must go
    mask = np.zeros((SIDE, SIDE), bool)
    mask[HOLE] = True

    [(healed, seconds)] = heal_selection([(image, mask)], gimp_root)

    assert healed.shape == image.shape and healed.dtype == np.uint8
    assert np.array_equal(healed[~mask], image[~mask]), "pixels outside the hole changed"
    hole_mean = healed[mask].astype(float).mean(axis=0)
    assert np.abs(hole_mean - LEFT).max() <= 3, hole_mean
    assert 0 < seconds < 30


def test_a_missing_root_is_explained():
    why = heal_selection_available(Path("/nonexistent/gimp3-root"))
    assert why is not None and "build_gimp_root.sh" in why
    with pytest.raises(RuntimeError, match="no GIMP 3 root|needs"):
        heal_selection([(np.zeros((8, 8, 3), np.uint8), np.eye(8, dtype=bool))], Path("/nonexistent/gimp3-root"))
