"""Sweeps: one setting of a model (or two, as a grid) over a list of values.

A sweep's point is one set of the model's settings, trained once per seed like the
model's own runs. A point is named by what its settings change from the model's own
config section, Paramspace-style (`epochs~3`, `dropout~0.2_hidden~512-512`), and a point
that changes nothing *is* that section's run, `base`: one job and one folder however
many sweeps (or the main tables) ask for it. Names come from the settings the model
really trains with, so a scalar form (`hidden_units: 512`) and the list it stands for
(`hidden: [512, 512]`) name the same point.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass
from itertools import product

import jsonschema

from . import own_models
from .config import ConfigError, combination_errors
from .models import KERAS, MODELS, SWEEPABLE

BASE = "base"
# Keys of a section that are not training settings (the CNN's feature-map image is
# what it draws, not what it learns): runs do not take them, sweeps cannot vary them.
NOT_SETTINGS = {"cnn": {"feature_map_image"}}
# Scalar forms of list-valued settings, so that a sweep can vary them one number at a
# time: the schema of their values, and what they do.
SCALAR_FORMS = {
    "mlp": {
        "hidden_layers": (
            {"type": "integer", "minimum": 1, "maximum": 10},
            "the number of hidden layers, each as wide as the first of mlp.hidden",
        ),
        "hidden_units": (
            {"type": "integer", "minimum": 1},
            "the width of every hidden layer (their number from mlp.hidden)",
        ),
    }
}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# A figure can show a sweep over one setting (a line) or two (a heatmap).
MAX_VARIED = 2


@dataclass(frozen=True)
class Sweep:
    name: str
    model: str
    settings: tuple[str, ...]  # the settings it varies, in the config's order
    points: tuple[tuple[str, dict], ...]  # (point, {setting: value}) in grid order

    def as_params(self) -> dict:
        """Plain data for a rule's params (keys sorted, so that equal sweeps compare equal)."""
        return {
            "model": self.model,
            "name": self.name,
            "points": [[point, dict(sorted(values.items()))] for point, values in self.points],
            "settings": list(self.settings),
        }


def section_key(model: str) -> str:
    return MODELS[model].section_key


def base_settings(config: dict, model: str) -> dict:
    """The model's own settings: its config section without the keys that are not
    settings; a model of the config's `models:`, its entry's (own_models.run_settings)."""
    if MODELS[model].kind != "study":
        return own_models.run_settings(config["models"][model])
    section = config
    for part in MODELS[model].section:
        section = section[part]
    return {k: v for k, v in section.items() if k not in NOT_SETTINGS.get(model, ())}


def setting_schemas(schema: dict, model: str, config: dict | None = None) -> dict[str, dict]:
    """{setting: its JSON schema} for every setting a sweep of `model` can vary.

    A model of the config's `models:` (its entry in `config`) varies its kind's
    training keys and its settings (the estimator's parameters, set or not); these have
    no schema here: the estimator checks them when it is built.
    """
    if MODELS[model].kind != "study":
        entry = (config or {}).get("models", {}).get(model, {})
        kind = MODELS[model].kind
        keys = schema["properties"]["models"]["additionalProperties"]["properties"]
        found = {key: keys[key] for key in own_models.TRAINING_KEYS[kind]}
        found |= dict.fromkeys(entry.get("settings") or {}, {})
        if kind == "sklearn" and entry.get("estimator"):
            estimator = own_models.estimator_class(entry["estimator"])
            found |= {k: {} for k in estimator().get_params(deep=False) if k != "random_state"}
        return found
    node = schema
    for part in MODELS[model].section:
        node = node["properties"][part]
    found = {
        key: sub
        for key, sub in node["properties"].items()
        if key not in NOT_SETTINGS.get(model, ())
    }
    found |= {key: sub for key, (sub, _) in SCALAR_FORMS.get(model, {}).items()}
    return found


def apply(model: str, base: dict, changes: dict) -> dict:
    """The settings a run of `model` trains with: `changes` (scalar forms expanded) over `base`."""
    settings = copy.deepcopy(base)
    changes = dict(changes)
    if model == "mlp":
        layers = changes.pop("hidden_layers", None)
        units = changes.pop("hidden_units", None)
        if layers is not None:
            settings["hidden"] = [settings["hidden"][0]] * int(layers)
        if units is not None:
            settings["hidden"] = [int(units)] * len(settings["hidden"])
    settings.update(copy.deepcopy(changes))
    return settings


def format_value(value) -> str:
    """A setting's value as it appears in a point's name: short, without float noise."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    if isinstance(value, list):
        return "-".join(format_value(v) for v in value)
    return str(value)


def point_name(base: dict, settings: dict) -> str:
    """`base`, or the settings that differ from it as `key~value` joined by `_`."""
    changed = [
        f"{key}~{format_value(settings[key])}"
        for key in sorted(settings)
        if settings[key] != base.get(key)
    ]
    return "_".join(changed) or BASE


def _problems(name: str, sweep: dict, schema: dict, config: dict | None = None) -> list[str]:
    """Every problem with one sweep, one line each (empty if it can run)."""
    model = sweep["model"]
    where = f"sweep {name!r} ({model})"
    known = setting_schemas(schema, model, config)
    errors = []
    for key, values in sweep["vary"].items():
        if key in NOT_SETTINGS.get(model, ()):
            errors.append(
                f"{where}: {section_key(model)}.{key} is not a training setting (it chooses "
                "what is drawn, not what is learnt), so a sweep cannot vary it"
            )
            continue
        if key not in known:
            hint = difflib.get_close_matches(key, list(known), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            errors.append(
                f"{where}: {section_key(model)} has no setting {key!r}{suggestion} "
                f"(settings: {', '.join(sorted(known))})"
            )
            continue
        validator = jsonschema.Draft202012Validator(known[key])
        for value in values:
            for error in validator.iter_errors(value):
                errors.append(
                    f"{where}: {key} = {value!r} is not allowed for "
                    f"{section_key(model)}.{key}: {error.message}"
                )
        seen: dict[str, object] = {}
        for value in values:
            text = format_value(value)
            if text in seen:
                errors.append(
                    f"{where}: {key} lists {value!r} twice"
                    + (f" (as {seen[text]!r} and {value!r})" if seen[text] != value else "")
                    + "; give each value once"
                )
            seen[text] = value
    varied = [key for key, values in sweep["vary"].items() if len(values) > 1]
    if len(varied) > MAX_VARIED:
        errors.append(
            f"{where}: varies {len(varied)} settings with more than one value "
            f"({', '.join(varied)}); a sweep varies one setting, or two as a grid"
        )
    return errors


def _combination_problems(name: str, model: str, points, config: dict) -> list[str]:
    """Settings allowed one by one but not at some point of the sweep."""
    where = f"sweep {name!r} ({model})"
    varied = set(points[0][2])
    errors = []
    for _, settings, _ in points:
        if model == "svm_final":
            full = settings["full_training_set"]
            if not full and "pca_components" in varied:
                errors.append(
                    f"{where}: varies pca_components, which only applies with "
                    "full_training_set: true; add full_training_set: [true] to vary"
                )
                break
            if full and "subset" in varied:
                errors.append(f"{where}: varies subset, which full_training_set: true ignores")
                break
        own_pca = settings.get("features") == "pca"
        if MODELS[model].kind == "sklearn" and "pca_components" in varied and not own_pca:
            errors.append(f"{where}: varies pca_components, which only applies with features: pca")
            break
        if model in KERAS:
            problems = combination_errors({**config, model: settings})
            if problems:
                errors.append(f"{where}: {problems[0].removeprefix('config key ')}")
                break
    return errors


def plan(config: dict, schema: dict) -> dict[str, Sweep]:
    """Every sweep of `config` (defaults filled in) as its points; ConfigError if any is bad.

    Each problem is one line naming the sweep and the setting.
    """
    sweeps: dict[str, Sweep] = {}
    errors: list[str] = []
    for name, sweep in (config.get("sweeps") or {}).items():
        if not NAME.match(name):
            errors.append(
                f"sweep {name!r}: a sweep's name becomes a file name: use letters, digits, "
                "'_' and '-', starting with a letter or digit"
            )
            continue
        problems = _problems(name, sweep, schema, config)
        if problems:
            errors += problems
            continue
        model = sweep["model"]
        base = base_settings(config, model)
        keys = list(sweep["vary"])
        points, names = [], set()
        for values in product(*(sweep["vary"][key] for key in keys)):
            changes = dict(zip(keys, values, strict=True))
            settings = apply(model, base, changes)
            point = point_name(base, settings)
            if point not in names:
                names.add(point)
                points.append((point, settings, changes))
        combined = _combination_problems(name, model, points, config)
        if combined:
            errors += combined
            continue
        sweeps[name] = Sweep(
            name, model, tuple(keys), tuple((point, changes) for point, _, changes in points)
        )
    if errors:
        raise ConfigError("invalid sweeps:\n  " + "\n  ".join(errors))
    return sweeps


def model_points(sweeps: dict[str, Sweep], config: dict) -> dict[str, dict[str, dict]]:
    """{model: {point: settings}} over every sweep, `base` included for every model."""
    found: dict[str, dict[str, dict]] = {
        model: {BASE: base_settings(config, model)} for model in SWEEPABLE
    }
    for sweep in sweeps.values():
        base = found[sweep.model][BASE]
        for point, changes in sweep.points:
            found[sweep.model].setdefault(point, apply(sweep.model, base, changes))
    return found
