"""Render the config schema as a markdown reference: ``python -m detcnn.schema_doc > docs/config.md``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path("workflow/schemas/config.schema.yaml")


def _rows(node: dict[str, Any], path: str) -> list[str]:
    rows = []
    for key, sub in node.get("properties", {}).items():
        name = f"{path}.{key}" if path else key
        kind = sub.get("type", "")
        kind = " or ".join(kind) if isinstance(kind, list) else kind
        if "enum" in sub:
            kind += f" ({' / '.join(map(str, sub['enum']))})"
        default = json.dumps(sub["default"]) if "default" in sub else ""
        desc = " ".join(str(sub.get("description", "")).split())
        rows.append(f"| `{name}` | {kind} | `{default}` | {desc} |" if default else f"| `{name}` | {kind} | | {desc} |")
        rows += _rows(sub, name)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        rows += _rows(extra, f"{path}.<name>")
    return rows


def render(schema: dict[str, Any]) -> str:
    """Markdown table of every config key: name, type, default, description."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from `workflow/schemas/config.schema.yaml` by `python -m detcnn.schema_doc > docs/config.md`;",
        "the workflow validates `config/config.yaml` against that schema before it runs.",
        "",
        " ".join(str(schema.get("description", "")).split()),
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
        *_rows(schema, ""),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    import yaml

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_PATH
    sys.stdout.write(render(yaml.safe_load(path.read_text())))


if __name__ == "__main__":
    main()
