"""The gRPC code in use must be exactly what protos/ generates today (it is built, never edited by hand)."""
from __future__ import annotations

from pathlib import Path

import semantic_edit.v1
from inference_server.build_protos import generate


def test_generated_code_is_not_stale(tmp_path):
    installed = Path(semantic_edit.v1.__file__).parent
    fresh = generate(tmp_path)
    assert fresh, "nothing was generated"
    for path in fresh:
        relative = path.relative_to(tmp_path / "semantic_edit" / "v1") if "v1" in path.parts else None
        if relative is None:
            continue
        current = installed / relative
        assert current.exists(), f"{current} is missing: run ./install.sh"
        assert current.read_bytes() == path.read_bytes(), (
            f"{current} is stale: protos/ changed since it was generated; run ./install.sh")
