"""Data flows one way: staging -> intermediate -> marts. Checked over dbt's ``manifest.json``.

A model may read sources, seeds and models of its own layer or of an earlier one; never a later
layer (an intermediate model reading a mart makes the folders no map of the build order).
``python -m metanprom.layers [target/manifest.json]`` prints the violations and exits 1 on any.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

#: Layers in build order, by the first folder under models/.
LAYERS = ("staging", "intermediate", "marts")


def layer_of(node: dict[str, Any]) -> str | None:
    """Return the layer of a model node (its first folder under models/), or None for other nodes."""
    if node.get("resource_type") != "model":
        return None
    folder = Path(node["original_file_path"]).parts[1:2]
    return folder[0] if folder and folder[0] in LAYERS else None


def violations(manifest: dict[str, Any]) -> list[str]:
    """Every dependency of a model on a model of a later layer, as 'child (layer) reads parent (layer)'."""
    nodes: dict[str, dict[str, Any]] = manifest["nodes"]
    found = []
    for node in nodes.values():
        layer = layer_of(node)
        if layer is None:
            continue
        for parent_id in node.get("depends_on", {}).get("nodes", []):
            parent_layer = layer_of(nodes.get(parent_id, {}))
            if parent_layer is not None and LAYERS.index(parent_layer) > LAYERS.index(layer):
                found.append(
                    f"{node['name']} ({layer}) reads {nodes[parent_id]['name']} ({parent_layer}): "
                    f"move the logic it needs into the {layer} layer"
                )
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    """Check a manifest (default target/manifest.json); print violations; exit code 1 on any."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "target/manifest.json")
    if not path.exists():
        print(f"error: {path} does not exist; run `dbt parse --profiles-dir .` first", file=sys.stderr)
        return 2
    found = violations(json.loads(path.read_text(encoding="utf-8")))
    for line in found:
        print(f"layer violation: {line}", file=sys.stderr)
    models = sum(1 for node in json.loads(path.read_text(encoding="utf-8"))["nodes"].values() if layer_of(node))
    print(f"layers: {models} models checked, {len(found)} reading a later layer")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
