"""The Snakemake report: built from the bundled-sample run, opened in a real browser."""

import csv
import os
import re
import shutil
import subprocess
import time

import pandas as pd
import pytest

from conftest import run_snakemake, suite_settings
from mnist_study.models import KERAS, MODELS, report_categories, short_name, table_models
from mnist_study.results import model_labels

# Every test here starts Snakemake.
pytestmark = pytest.mark.pipeline

SEEDS = suite_settings()["repeats"]["seeds"]
# Each run's files in the report: its targets, and the Keras models' training history.
PER_RUN = {
    name: [*model.targets, *(["history.png"] if name in KERAS else [])]
    for name, model in MODELS.items()
}
EXPECTED = {
    "data/sample_digits.png",
    "pca/pca2_scatter.png",
    "pca/pca3_scatter.png",
    "pca/cumulative_variance.png",
    "pca/components_for_variance.csv",
    "svm/decision_boundaries.png",
    "svm/grid_heatmap.png",
    *(
        f"{model}/base/seed-{seed}/{name}"
        for model, names in PER_RUN.items()
        for name in names
        for seed in SEEDS
    ),
    "tables/metrics.csv",
    "tables/accuracy_over_seeds.png",
    "tables/paired_differences.png",
    "tables/study_comparison.csv",
    "tables/stage_costs.csv",
    "record/record.md",
    "record/checklist.md",
    # the robustness stage and the errors (rules/robustness.smk)
    *(f"tables/{name}.csv" for name in ("robustness", "robustness_summary")),
    *(f"tables/{name}.csv" for name in ("robustness_comparison", "calibration")),
    *(f"tables/{name}.png" for name in ("robustness_heatmap", "corruption_examples")),
    "tables/reliability.png",
    *(f"tables/{name}.csv" for name in ("per_class_accuracy", "confused_pairs", "hard_images")),
    "tables/hard_images.png",
    "tables/label_issues.csv",
    "tables/label_issues.png",
    *(
        f"record/cards/{model}.md"
        for model in table_models(suite_settings()["svm"]["kernels"]["names"])
    ),
}
KERNEL_TRICK = {"results/kernel_trick/margins.png", "results/kernel_trick/lift.png"}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--disable-component-update",
    "--no-first-run",
    "--window-size=1400,900",
]


@pytest.fixture(scope="session")
def report(pipeline_run, tmp_path_factory):
    """The report of the shared run, and that run's results folder. The report is
    written outside the run's folder, which every worker reads."""
    workdir, _ = pipeline_run
    path = tmp_path_factory.mktemp("report") / "report.html"
    run_snakemake(workdir, "--report", str(path))
    return path, workdir / "results"


def embedded_results(html: str) -> set[str]:
    return set(re.findall(r'"(results/[^"]+)": \{"name"', html))


def test_report_embeds_every_figure_and_table(report):
    report, results = report
    html = report.read_text()
    expected = {f"results/mnist-sample/{name}" for name in EXPECTED} | KERNEL_TRICK
    assert embedded_results(html) == expected
    assert "The MNIST study, reproduced" in html and "mnist-sample" in html
    # The front page opens with the headline table, every model by its readable name
    # with its mean and interval, and the sentences made from the tables.
    tables = results / "mnist-sample/tables"
    headline = list(csv.reader((tables / "headline.csv").open()))
    assert headline[0] == ["model", "test accuracy", "95% interval"]
    assert len(headline) == 1 + 8
    for model, accuracy, interval in headline[1:]:
        assert f"<td>{model}</td>" in html and f"<td>{accuracy}</td>" in html
        assert f"<td>{interval}</td>" in html
    for line in list(csv.reader((tables / "conclusions.csv").open()))[1:]:
        assert f"<td>{line[0]}</td>" in html
    robust = (tables / "robustness_conclusions.txt").read_text().strip()
    assert robust.startswith("Most robust: ") and f"<p>{robust}</p>" in html
    # One label per model on the front page: the table's rows are the run's labels, no
    # two alike; the robustness sentence names its model by its short name, as the
    # clean sentences do.
    labels = model_labels(pd.read_parquet(tables / "metrics.parquet"))
    assert sorted(row[0] for row in headline[1:]) == sorted(set(labels.values()))
    assert [m for m in labels if robust.startswith(f"Most robust: {short_name(m)}, ")]
    # Per-run figures carry their seed as a label, not as unlabelled copies.
    for seed in SEEDS:
        assert f'"seed": "{seed}"' in html
    # Every category of the registry but the sweeps (none in the suite's config),
    # numbered 01, 02, ... with no gap where the sweeps would be.
    categories = report_categories(absent=["sweeps"])
    present = [categories[key] for key in categories if key != "sweeps"]
    assert [title.split(". ")[0] for title in present] == [
        f"{n:02d}" for n in range(1, len(present) + 1)
    ]
    for category in present:
        assert f'"{category}"' in html, category
    assert 'Sweeps"' not in html and f'"{len(present) + 1:02d}. ' not in html
    # Captions state the run's own settings (the suite's), not the defaults in prose.
    settings = suite_settings()
    kernels = settings["svm"]["kernels"]
    assert f"trained on a stratified training subset ({kernels['subset']} images)" in html
    assert f"hidden layers {'-'.join(map(str, settings['mlp']['hidden']))}," in html
    assert f"the {len(kernels['names'])} kernels ({', '.join(kernels['names'])})" in html
    # Self-contained: every result travels inside the file as a data URI.
    assert html.count('"data_uri": "data:image/png') == len([e for e in expected if ".png" in e])


def find_chromium():
    """Debian's chromium and chromedriver; installed here when running as root on Debian."""
    found = shutil.which("chromium"), shutil.which("chromedriver")
    if all(found):
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(
            [
                "apt-get",
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "chromium",
                "chromium-driver",
            ],
            check=True,
            env=env,
            timeout=900,
            capture_output=True,
        )
        return shutil.which("chromium"), shutil.which("chromedriver")
    pytest.skip(
        "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
    )


@pytest.fixture(scope="session")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = find_chromium()
    options = Options()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield driver
    driver.quit()


def test_report_renders_in_chromium(report, browser, tmp_path):
    report, _ = report
    from selenium.webdriver.common.by import By

    size = {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", size)
    browser.get(report.resolve().as_uri())
    time.sleep(1)
    assert "The MNIST study, reproduced" in browser.find_element(By.TAG_NAME, "body").text
    # The front page, the headline table and what the data say, fits one 1400 x 900
    # window: its text neither runs off the top nor below the bottom.
    assert browser.execute_script("return [innerWidth, innerHeight]") == [1400, 900]
    top, bottom = browser.execute_script(
        "const r = document.querySelector('.document').getBoundingClientRect();"
        "return [r.top, r.bottom]"
    )
    assert top >= 0 and bottom <= 900, (top, bottom)
    # Every embedded figure decodes to a real image in the browser.
    sizes = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const images = Object.entries(results).filter(([, r]) => r.mime_type.startsWith("image/"));
        Promise.all(images.map(([path, r]) => new Promise(resolve => {
            const img = new Image();
            img.onload = () => resolve([path, img.naturalWidth]);
            img.onerror = () => resolve([path, 0]);
            img.src = r.data_uri;
        }))).then(done);
        """
    )
    assert len(sizes) == len([e for e in EXPECTED if e.endswith(".png")]) + len(KERNEL_TRICK)
    assert all(width > 100 for _, width in sizes), sizes
    # The menu lists the categories in the registry's order (it sorts their titles as
    # text: models.report_categories pads their numbers so that "10" follows "09").
    categories = report_categories(absent=["sweeps"])
    present = [categories[key] for key in categories if key != "sweeps"]
    menu = browser.find_element(By.TAG_NAME, "body").text
    assert all(title in menu for title in present), menu
    assert sorted(present, key=menu.index) == present, menu
    # Open one figure the way a reader would: its category, then its eye icon.
    browser.find_element(By.XPATH, f"//*[normalize-space(text())='{categories['svm']}']").click()
    time.sleep(0.5)
    browser.find_element(By.XPATH, "//*[normalize-space(text())='grid search and figures']").click()
    time.sleep(0.5)
    row = browser.find_element(
        By.XPATH, "//tr[.//*[normalize-space(text())='decision regions on 2 components']]"
    )
    row.find_elements(By.CSS_SELECTOR, "a, button, svg")[0].click()
    time.sleep(1)
    shown = browser.execute_script(
        "return [...document.images].filter(i => i.src.includes('decision_boundaries'))"
        ".map(i => [i.complete, i.naturalWidth])"
    )
    assert shown and all(complete and width > 100 for complete, width in shown), shown
    screenshot = tmp_path / "report.png"
    browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 20_000
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
