"""The cards of a run: one per model (skops.card for the SVM, the same sections for the
networks), the data card in MLCommons' Croissant format, and the checklist page that
answers the NeurIPS checklist's questions from the record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .models import MODELS, run_model, short_name

# Croissant 1.0's JSON-LD context (http://mlcommons.org/croissant/1.0), as its reference
# library, mlcroissant, writes it.
CROISSANT_CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
# Each model card's sections, in order: the SVM's through skops.card, the others alike.
CARD_SECTIONS = (
    "Model description",
    "Training data",
    "Evaluation data",
    "Settings",
    "Metrics",
    "Confusion matrix",
    "Limitations",
)


def croissant(data: dict, parquet: dict[str, dict], base: str = "../data") -> dict:
    """The data card of the Parquet data, as Croissant 1.0 JSON-LD.

    `data` is the record's data section (name, description, licence, citation, source)
    with the record's `written` time;
    `parquet` maps each split to {"sha256": of the Parquet file, "rows": its rows};
    `base` is where the Parquet files lie, relative to the card.
    """
    files, record_sets = [], []
    for split, facts in parquet.items():
        name = f"{split}.parquet"
        files.append(
            {
                "@type": "cr:FileObject",
                "@id": name,
                "name": name,
                "description": f"the {split} split: {facts['rows']:,} images and their labels",
                "contentUrl": f"{base}/{name}",
                "encodingFormat": "application/x-parquet",
                "sha256": facts["sha256"],
            }
        )
        source = {"fileObject": {"@id": name}}
        record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": split,
                "name": split,
                "description": f"one record per image of the {split} split",
                "field": [
                    {
                        "@type": "cr:Field",
                        "@id": f"{split}/label",
                        "name": "label",
                        "description": "the class, 0 to K-1 (the dataset's class names)",
                        "dataType": "sc:Integer",
                        "source": {**source, "extract": {"column": "label"}},
                    },
                    {
                        "@type": "cr:Field",
                        "@id": f"{split}/pixels",
                        "name": "pixels",
                        "description": "the 28x28 image, row-major, scaled to [0, 1]",
                        "dataType": "sc:Float",
                        "repeated": True,
                        "source": {**source, "extract": {"column": "pixels"}},
                    },
                ],
            }
        )
    return {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "name": data["name"],
        "description": data["description"],
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "license": data["licence"] or "not stated",
        "citeAs": data["citation"] or data["name"],
        "url": data["url"],
        # The Parquet layout's version (data.write_split), and the day the card was made.
        "version": "1.0.0",
        "datePublished": data["written"][:10],
        "distribution": files,
        "recordSet": record_sets,
    }


def card_sections(model: str, record: dict, results: Path) -> dict[str, str]:
    """The text of each of CARD_SECTIONS for one model of the tables."""
    data, methods = record["data"], record["methods"]["models"][model]
    summary = pd.read_parquet(results / "tables/metrics_summary.parquet")
    runs = pd.read_parquet(results / "tables/metrics.parquet")
    runs = runs[runs["model"] == model]
    rows = summary[summary["model"] == model].set_index("metric")
    metrics = [
        f"- {metric}: mean {row['mean']:.4f} over {row['seeds']} seed(s)"
        + (f" ({row['failed']} failed run(s) left out)" if row.get("failed", 0) > 0 else "")
        + (
            f", 95% interval {row['ci_low']:.4f}-{row['ci_high']:.4f} ({row['interval']})"
            if np.isfinite(row["ci_low"])
            else ""
        )
        for metric, row in rows.iterrows()
        if metric != "fit_seconds"
    ]
    per_seed = runs[["seed", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "macro_auc"]]
    folder = run_model(model)
    figure = f"../../{folder}/base/seed-{int(runs['seed'].min())}/confusion.png"
    sample = data["name"] == "mnist-sample"
    return {
        "Model description": (
            f"The {short_name(model)} of the MNIST study ({methods['label']}), trained once "
            f"per seed of {record['made']['seeds']['list']}; {methods['seed']}."
            if MODELS.get(folder) is None or MODELS[folder].kind == "study"
            else f"{methods['label']}: a model of the run's own config (models.{model}, "
            f"{MODELS[folder].kind}), trained once per seed of "
            f"{record['made']['seeds']['list']} like the study's; {methods['seed']}."
            + (
                f" Built by {methods['file']['path']} (sha256 {methods['file']['sha256']})."
                if "file" in methods
                else ""
            )
        ),
        "Training data": (
            f"{data['name']}: {data['description']}; {data['split']['train']:,} training "
            f"images, {int(runs['train_size'].median()):,} of which this model trained on."
        ),
        "Evaluation data": (
            f"The {data['split']['test']:,} test images of {data['name']}, which no model sees "
            "while it is trained or its settings are chosen."
        ),
        "Settings": (
            f"{json.dumps(methods['settings'], sort_keys=True)}. How they were chosen: "
            f"{methods['chosen']}"
        ),
        "Metrics": "\n".join(metrics)
        + "\n\nEach seed's run (accuracy with its test-set interval):\n\n"
        + per_seed.to_markdown(index=False, floatfmt=".4f"),
        "Confusion matrix": f"![confusion matrix of the first seed's run]({figure})"
        if (results / figure.removeprefix("../../")).exists()
        else "(the per-kernel confusion counts are in the kernels' confusion.csv)",
        "Limitations": (
            "Trained and scored on a 10,000-image sample of MNIST's training set, not on "
            "MNIST itself: figures are close to, not equal to, the full set's. "
            if sample
            else ""
        )
        + "Handwritten digits or clothing, 28x28 grey images only; accuracy on other "
        "images, writers or scanners is not known. The study's own mistakes are not "
        "repeated: models are scored on the test set, not on their training data, and "
        "intervals over seeds and test images come with every figure.",
    }


def model_card(model: str, record: dict, results: Path, path: Path) -> None:
    """One model's card: skops.card's Card for the final SVM (from its saved model),
    the same sections as plain Markdown for the others."""
    from .storage import atomic_path

    sections = card_sections(model, record, results)
    if model == "svm_final":
        from skops import card

        from .storage import load_model

        seed = record["made"]["seeds"]["list"][0]
        fitted = load_model(results / f"svm_final/base/seed-{seed}/model.skops")
        model_card_ = card.Card(fitted, model_diagram=False, template=None)
        model_card_.add(**{f"{section}": text for section, text in sections.items()})
        with atomic_path(path) as tmp:
            model_card_.save(tmp)
        return
    text = "".join(f"# {section}\n\n{body}\n\n" for section, body in sections.items())
    with atomic_path(path) as tmp:
        tmp.write_text(text)
