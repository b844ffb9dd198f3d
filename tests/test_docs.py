"""The documentation names only settings that exist, and documents every one.

A config key named in README.md or config/README.md is a backticked dotted path whose
first part is a top-level key of the schema (`svm.grid.folds`); each must lead to a
property of the schema (entries under `datasets:` and `sweeps:` are named by the user,
so any name stands there). Every setting of the schema must appear in config/README.md,
backticked or as a key in one of its YAML examples, by its own name or its dotted path,
and every top-level section must head a section of it.
"""

import re

from conftest import ROOT
from mnist_study.config import load_schema

SCHEMA = load_schema(ROOT / "rules/schemas/config.schema.yaml")
DOCS = {name: (ROOT / name).read_text() for name in ("README.md", "config/README.md")}


def resolve(path: list[str]) -> bool:
    node = SCHEMA
    for part in path:
        if part in node.get("properties", {}):
            node = node["properties"][part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]  # a user-named entry
        else:
            return False
    return True


def settings(node=SCHEMA, where=()):
    """(path, name) of every property of the schema, nested ones and user entries' too."""
    for name, sub in node.get("properties", {}).items():
        yield (*where, name), name
        yield from settings(sub, (*where, name))
    entries = node.get("additionalProperties")
    if isinstance(entries, dict):
        yield from settings(entries, (*where, "<name>"))


def named_keys(text: str) -> set[str]:
    tops = set(SCHEMA["properties"])
    found = set()
    for token in re.findall(r"`([A-Za-z_][\w.]*)`", text):
        parts = token.split(".")
        if len(parts) > 1 and parts[0] in tops:
            found.add(token)
    return found


def test_every_config_key_the_docs_name_exists():
    for name, text in DOCS.items():
        missing = sorted(k for k in named_keys(text) if not resolve(k.split(".")))
        assert missing == [], f"{name} names keys the schema lacks: {missing}"


def test_config_readme_documents_every_setting():
    text = DOCS["config/README.md"]
    backticked = set(re.findall(r"`([^`\s]+)`", text))
    backticked |= set(re.findall(r"`([A-Za-z_]\w*): ", text))  # `verify: false`
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        backticked |= set(re.findall(r"([A-Za-z_]\w*):", block))
    undocumented = [
        ".".join(path)
        for path, name in settings()
        if name not in backticked and not any(b.endswith(f".{name}") for b in backticked)
    ]
    assert undocumented == []
    headings = re.findall(r"^## .*$", text, re.M)
    for section in SCHEMA["properties"]:
        assert any(f"`{section}`" in h for h in headings), section


def test_the_checks_above_can_fail():
    assert not resolve(["mlp", "jit_compile"]) and not resolve(["svm", "grid", "folds", "x"])
    assert resolve(["datasets", "kmnist", "classes"]) and resolve(["svm", "grid", "folds"])
    assert named_keys("`mlp.jit_compile` and `model.skops`") == {"mlp.jit_compile"}
