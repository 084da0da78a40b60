"""One-way data flow: no model reads a later layer (metanprom.layers over dbt's manifest)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from metanprom.layers import layer_of, violations
from metanprom.paths import REPO_ROOT


def _model(name: str, path: str, parents: list[str]) -> tuple[str, dict[str, object]]:
    return f"model.metanprom.{name}", {
        "name": name,
        "resource_type": "model",
        "original_file_path": path,
        "depends_on": {"nodes": [f"model.metanprom.{parent}" for parent in parents]},
    }


def test_an_intermediate_model_reading_a_mart_is_reported() -> None:
    manifest = {
        "nodes": dict(
            [
                _model("stg_clients", "models/staging/bank/stg_clients.sql", []),
                _model("int_a", "models/intermediate/clients/int_a.sql", ["stg_clients"]),
                _model("dim_clients", "models/marts/core/dim_clients.sql", ["int_a"]),
                _model("int_b", "models/intermediate/features/int_b.sql", ["dim_clients", "int_a"]),
                _model("stg_bad", "models/staging/bank/stg_bad.sql", ["int_b"]),
            ]
        )
    }
    assert violations(manifest) == [
        "int_b (intermediate) reads dim_clients (marts): move the logic it needs into the intermediate layer",
        "stg_bad (staging) reads int_b (intermediate): move the logic it needs into the staging layer",
    ]
    assert layer_of({"resource_type": "seed", "original_file_path": "seeds/x.csv"}) is None


def test_the_project_flows_one_way(tmp_path: Path) -> None:
    subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "parse",
            "--profiles-dir",
            ".",
            "--quiet",
            "--target-path",
            str(tmp_path),
        ],
        cwd=REPO_ROOT,
        check=True,
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    layers = [layer_of(node) for node in manifest["nodes"].values()]
    assert layers.count("intermediate") >= 15 and layers.count("marts") >= 15
    assert violations(manifest) == []
