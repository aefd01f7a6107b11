"""Every shipped config validates against the schema, and the schema documents every key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def merge(base: dict, extra: dict) -> dict:
    """Snakemake's merge of ``--configfile`` over the Snakefile's configfile: dicts recursively."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


@pytest.mark.parametrize("name", ["config.yaml", "tiny.yaml"])
def test_complete_configs_validate(name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(yaml.safe_load((ROOT / "config" / name).read_text()), SCHEMA)


@pytest.mark.parametrize("name", ["paper.yaml", "zoo.yaml", "smlm.yaml"])
def test_configs_merged_over_the_default_validate(name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    default = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    jsonschema.validate(merge(default, yaml.safe_load((ROOT / "config" / name).read_text())), SCHEMA)


def test_schema_rejects_typos() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    cfg["models"]["cnn"]["train"]["learning_rate"] = 0.1
    with pytest.raises(jsonschema.ValidationError, match="learning_rate"):
        jsonschema.validate(cfg, SCHEMA)


def _walk(node: dict, path: str = "") -> list[str]:
    """Paths of schema properties lacking a description."""
    missing = []
    for key, sub in node.get("properties", {}).items():
        if "description" not in sub:
            missing.append(f"{path}.{key}")
        missing += _walk(sub, f"{path}.{key}")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        missing += _walk(extra, f"{path}.*")
    return missing


def test_every_key_is_described() -> None:
    assert _walk(SCHEMA) == []


def test_config_reference_is_up_to_date() -> None:
    from detcnn.schema_doc import render

    assert (ROOT / "docs/config.md").read_text() == render(SCHEMA)
