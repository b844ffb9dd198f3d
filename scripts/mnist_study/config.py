"""Readable config errors: every problem named by its key and what is allowed.

`snakemake.utils.validate` fills in the defaults, but its error dumps the whole
schema; `config_errors` runs first and says in one line per problem which key
is wrong and why.
"""

from __future__ import annotations

import copy
import difflib
import functools
import math
from pathlib import Path

import jsonschema
import yaml

from .errors import PipelineError
from .models import KERAS, MODELS, SWEEPABLE


class ConfigError(PipelineError, ValueError):
    pass


# Sections that had a `seed` of their own before repeats.seeds replaced them.
RUN_SEED_SECTIONS = ("svm", "svm.grid", *(model.section_key for model in MODELS.values()))


def load_schema(path: str | Path) -> dict:
    """The config schema, with the registry's sweepable models as a sweep's `model` enum.

    A fresh copy each call (callers may change it) of the file parsed once per process:
    every snakemake command reads it three times, a no-op rerun included."""
    return copy.deepcopy(_parsed_schema(str(path), Path(path).stat().st_mtime_ns))


@functools.lru_cache(maxsize=4)
def _parsed_schema(path: str, mtime_ns: int) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where built
    schema = yaml.load(Path(path).read_text(), Loader=loader)
    sweep = schema["properties"]["sweeps"]["additionalProperties"]["properties"]
    sweep["model"]["enum"] = SWEEPABLE
    return schema


def _key(path) -> str:
    parts = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    key = _key(error.absolute_path)
    schema = error.schema
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extras = sorted(set(error.instance) - set(allowed))
        lines = []
        for extra in extras:
            hint = difflib.get_close_matches(extra, allowed, n=1)
            where = f" in {key}" if error.absolute_path else ""
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            if extra == "seed" and key in RUN_SEED_SECTIONS:
                suggestion = (
                    "; every stochastic model now runs once per seed of repeats.seeds: "
                    "list the seeds there"
                )
            lines.append(
                f"unknown config key {extra!r}{where}{suggestion} (allowed: {', '.join(allowed)})"
            )
        return "\n".join(lines)
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"config key {key}: {error.instance!r} is not allowed (allowed: {allowed})"
    if error.validator == "minItems" and error.validator_value == 1:
        return f"config key {key}: must not be empty"
    if error.validator == "uniqueItems":
        seen, dups = set(), []
        for item in error.instance:
            if item in seen:
                dups.append(item)
            seen.add(item)
        return f"config key {key}: values must be distinct, {dups} appear(s) more than once"
    if error.validator == "oneOf":
        return f"config key {key}: {error.instance!r} is not allowed ({_one_of_hint(schema)})"
    return f"config key {key}: {error.message}"


def _one_of_hint(schema: dict) -> str:
    hints = []
    for option in schema.get("oneOf", []):
        if "enum" in option:
            hints.append(" or ".join(repr(v) for v in option["enum"]))
        elif option.get("type") == "number":
            hints.append("a positive number")
        else:
            hints.append(option.get("type", "?"))
    return "expected " + " or ".join(hints)


def non_finite(value, path=()) -> list[tuple]:
    """The paths of every NaN or infinite number in `value` (YAML's .nan, .inf, -.inf).

    JSON Schema bounds compare with < and >, which NaN always passes (and an unbounded
    number passes .inf), so these are refused before the schema is asked.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in non_finite(item, (*path, key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in non_finite(item, (*path, i))]
    return []


def config_errors(config: dict, schema: dict) -> list[str]:
    own = config.get("models")
    if isinstance(own, dict):  # a sweep may vary a model of the config's own
        sweep = schema["properties"]["sweeps"]["additionalProperties"]["properties"]
        sweep["model"]["enum"] = [*sweep["model"]["enum"], *(n for n in own if n not in SWEEPABLE)]
    bad = non_finite(config)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    errors = [e for e in errors if tuple(e.absolute_path) not in bad]
    return (
        [
            f"config key {_key(path)}: must be a finite number, not {_value_at(config, path)}"
            for path in bad
        ]  # fmt: skip
        + [_describe(e) for e in errors]
        + combination_errors(config)
    )


def _value_at(config, path) -> str:
    for part in path:
        config = config[part]
    return {"nan": ".nan", "inf": ".inf", "-inf": "-.inf"}[str(config)]


def combination_errors(config: dict) -> list[str]:
    """Settings that are each allowed but not together."""
    from .datasets import BUILT_IN_DATASETS

    errors = []
    dataset = config.get("dataset", "mnist-sample")
    known = [*BUILT_IN_DATASETS, *(config.get("datasets") or {})]
    if isinstance(dataset, str) and dataset not in known:
        errors.append(
            f"config key dataset: {dataset!r} is not allowed (allowed: {', '.join(known)}; "
            "or add it under datasets:)"
        )
    backend = config.get("keras_backend", "tensorflow")
    for section in KERAS:
        settings = config.get(section)
        loop = settings.get("training_loop") if isinstance(settings, dict) else None
        if loop == "scan" and backend != "jax":
            errors.append(
                f"config key {section}.training_loop: 'scan' runs on the jax backend only "
                f"(keras_backend is {backend!r}; set keras_backend=jax or training_loop=fit)"
            )
    return errors


def schema_defaults(node: dict) -> dict:
    """The config the schema's defaults make: nested objects built from their keys."""
    if node.get("type") == "object" and node.get("additionalProperties") is False:
        return {name: schema_defaults(sub) for name, sub in node["properties"].items()}
    return node["default"]


def merge_configs(base: dict, over: dict) -> dict:
    """`over` merged into `base` key by key (in place), as Snakemake merges config files."""
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_configs(base[key], value)
        else:
            base[key] = value
    return base


def schema_at(schema: dict, path: tuple) -> dict | None:
    """The schema of the value at `path` (keys and list indices); None where it says none."""
    node: dict | None = schema
    for part in path:
        if node is None:
            return None
        if isinstance(part, int):
            node = node.get("items")
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        else:
            extra = node.get("additionalProperties")
            node = extra if isinstance(extra, dict) else None
    return node


def _wanted_types(node: dict | None) -> set[str]:
    """The JSON types `node` allows, its oneOf's included; empty where it names none."""
    types: set[str] = set()
    for option in [node or {}, *(node or {}).get("oneOf", []), *(node or {}).get("anyOf", [])]:
        kind = option.get("type", [])
        types.update([kind] if isinstance(kind, str) else kind)
    return types


def _json_types(value) -> set[str]:
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer", "number"}
    if isinstance(value, float):
        return {"number", "integer"} if value.is_integer() else {"number"}
    return {
        str: {"string"}, list: {"array"}, dict: {"object"}, type(None): {"null"}
    }.get(type(value), set())  # fmt: skip


READABLE_TYPES = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "empty",
}


def _strings(value, path=()):
    """(path, text) of every string inside `value`, through its dicts and lists."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))


def _config_file_way(path: tuple, text: str) -> str:
    """The same setting as a config file's line: `mlp: {epochs: 3}`."""
    keys = [part for part in path if not isinstance(part, int)]
    line = text
    for key in reversed(keys[1:]):
        line = f"{{{key}: {line}}}"
    return f"{keys[0]}: {line}"


def read_command_line(config: dict, given, schema: dict) -> None:
    """Read the values of `--config` (`given`) as a config file's would be, in `config`.

    Snakemake parses a top-level `--config key=value` as a number or boolean where it
    spells one, but hands every value inside a dict or list over as a string
    (`mlp={epochs: 3}` gives {"epochs": "3"}). Each such string is read as the YAML
    scalar it spells where the schema wants a number, boolean, list or object there (or
    says nothing: a sweep's values), and kept where it wants a string; anything else is
    refused, with the key and the config-file way to write it. Bounds and the rest are
    checked afterwards, as for a config file.
    """
    refused = []
    for path, text in _strings(dict(given)):
        wanted = _wanted_types(schema_at(schema, path))
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        if not wanted or (_json_types(value) & wanted and not isinstance(value, str)):
            target = config
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        elif "string" not in wanted:
            kinds = " or ".join(sorted(READABLE_TYPES.get(t, t) for t in wanted))
            refused.append(
                f"config key {_key(path)}: --config gave {text!r}, which is not {kinds}; "
                f"in a config file, {_config_file_way(path, f'<{kinds}>')}, added after the "
                "main one: --configfile config.yaml <that file>"
            )
    if refused:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(refused))


def check_config(config: dict, schema_path: str | Path) -> None:
    """Raise ConfigError listing every problem in `config`; return quietly if none."""
    errors = config_errors(config, load_schema(schema_path))
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
