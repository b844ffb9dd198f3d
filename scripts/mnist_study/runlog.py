"""The run log: one row per run that changed a result (results/tables/run_log.csv)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .layout import code_hash
from .models import headline_metric
from .storage import write_table


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def run_log_row(dataset: str, config: dict, root, summary: pd.DataFrame) -> dict:
    """One run-log row: hashes, and each model's headline metric (mean and interval)."""
    row = {
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dataset": dataset,
        "config_hash": config_hash(config),
        "code_hash": code_hash(root),
    }
    for record in summary.itertuples():
        wanted = headline_metric(record.model)
        if record.metric != wanted:
            continue
        name = f"{record.model}_{'auc' if wanted == 'macro_auc' else 'accuracy'}"
        row["seeds"] = record.seeds
        row[f"{name}_mean"] = record.mean
        row[f"{name}_ci_low"] = record.ci_low
        row[f"{name}_ci_high"] = record.ci_high
    return row


def append_run_log(path: str | Path, row: dict) -> bool:
    """Add `row` to the run log (a CSV that only grows), atomically.

    Returns False, writing nothing, when the dataset's last logged row already has
    the same config, code and metrics: no new results, no new row.
    """
    path = Path(path)
    # Hashes are text: "012345678901" or "1234e5678901" would otherwise be read as numbers.
    hashes = {"config_hash": str, "code_hash": str}
    log = pd.read_csv(path, dtype=hashes) if path.exists() else pd.DataFrame()
    if len(log) and "dataset" in log:
        earlier = log[log["dataset"] == row["dataset"]]
        if len(earlier):
            last = earlier.iloc[-1]
            same = all(
                key in last.index and _same(last[key], value)
                for key, value in row.items()
                if key != "time"
            )
            if same:
                return False
    write_table(pd.concat([log, pd.DataFrame([row])], ignore_index=True), path)
    return True


def _same(logged, value) -> bool:
    if isinstance(value, float):
        return bool(np.isclose(float(logged), value, rtol=1e-5, atol=0, equal_nan=True))
    return str(logged) == str(value)
