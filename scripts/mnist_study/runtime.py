"""What every rule script does first: logging to the rule's log, threads, seeds."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
import time
import traceback
from pathlib import Path

import numpy as np

from . import phases


def setup_logging(log_path: str | Path | None) -> logging.Logger:
    """Send log records (and library chatter on stderr) to the rule's log file.

    Records also go to the console, so a user watching `snakemake` sees the
    progress of long steps as they happen (a training job's epochs among them), each
    line naming its job (`console_name`), as several run at once. With
    MNIST_STUDY_PROGRESS=0 the console gets only warnings and errors; the log file
    holds every record either way.
    """
    console = sys.__stderr__
    handlers: list[logging.Handler] = []
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
        # Library chatter written straight to file descriptor 2 (TensorFlow's C++
        # logs, warnings) goes to the log file; our own records still reach the console.
        console = os.fdopen(os.dup(2), "w", buffering=1)
        log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.dup2(log_fd, 2)
        os.close(log_fd)
    shown = logging.StreamHandler(console)
    job = console_name(log_path).replace("%", "%%")
    shown.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)s [{job}] %(name)s: %(message)s")
    )
    if os.environ.get("MNIST_STUDY_PROGRESS", "1").strip() == "0":
        shown.setLevel(logging.WARNING)
    handlers.append(shown)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    return logging.getLogger("mnist_study")


def console_name(log_path: str | Path | None) -> str:
    """A job's name on the console, from its log's path: the dataset, rule and
    wildcards of results/<dataset>/logs/<rule>/<point>/seed-<n>.log are
    "<dataset> <rule> <point> seed-<n>"."""
    if not log_path:
        return ""
    parts = Path(log_path).with_suffix("").parts
    if "logs" not in parts:
        return Path(log_path).stem
    at = parts.index("logs")
    dataset = parts[at - 1 : at] if at >= 2 and parts[at - 2] == "results" else ()
    return " ".join([*dataset, *parts[at + 1 :]])


def run_rule(main, namespace: dict) -> None:
    """Run a rule script's `main(snakemake)` when Snakemake runs the script, not on import.

    On one of the pipeline's own errors (`errors.PipelineError`: a bad or missing data
    file, a checksum mismatch, a tampered model) the console and the job's log get one
    line, what is wrong and what to do, and the traceback goes to the log only, below it;
    the job then fails (exit status 1). Any other exception is a bug: its traceback goes
    to the console and the log.
    """
    if "snakemake" not in namespace:
        return
    snakemake = namespace["snakemake"]
    started = time.time()
    phases.enter_main()
    try:
        register_own_models(snakemake)
        main(snakemake)
    except Exception as err:
        from .errors import PipelineError

        log = logging.getLogger("mnist_study")
        if not logging.getLogger().handlers:  # it failed before setting up its log
            setup_logging(snakemake.log[0] if snakemake.log else None)
        if not isinstance(err, PipelineError):
            log.exception("rule %s stopped on an unexpected error:", snakemake.rule)
            sys.exit(1)
        log.error("rule %s: %s", snakemake.rule, err.line())
        where = "where it was raised:\n" + "".join(traceback.format_exception(err))
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.FileHandler):  # the log file, not the console
                handler.stream.write(where)
                handler.flush()
        sys.exit(1)
    phases.begin("record")
    record_imports(snakemake.rule)
    if snakemake.log:
        write_job_record(snakemake, started)
    if namespace.get("__name__") == "__main__":
        end_job()


def register_own_models(snakemake) -> None:
    """Add the config's own models that the rule hands its script (its `own_models`
    param: their specs, own_models.spec) to the registry, as the Snakefile did."""
    specs = snakemake.params.get("own_models") if hasattr(snakemake, "params") else None
    if specs:
        from .models import register

        register(specs)


def end_job() -> None:
    """End a finished job's process now, its outputs, log and record written and closed:
    the interpreter's own teardown (freeing every module, a framework's atexit hooks)
    adds nothing to them and costs a Keras job up to a second."""
    logging.shutdown()  # flushes and closes the log file
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()
    os._exit(0)


def job_record_path(log: str | Path) -> Path:
    """Where a job's record lies: beside its log, `<log>.json`."""
    return Path(f"{log}.json")


def write_job_record(snakemake, started: float) -> None:
    """What the reproducibility record needs of one finished job, beside its log: the
    rule and wildcards, its input and output files (for the run's crate, mnist_study.crate),
    the run that made it (MNIST_STUDY_RUN and MNIST_STUDY_COMMAND,
    set by the Snakemake process that ran it), the machine, and the version of every
    package the job imported (importlib.metadata, in the job's own environment)."""
    import json
    import platform
    import socket
    from importlib import metadata

    from .storage import atomic_path

    providers = module_providers()
    packages = {}
    for name in sorted(job_modules(providers) | {"snakemake"}):
        for dist in providers.get(name, []):
            packages[dist] = metadata.version(dist)
    record = {
        "rule": snakemake.rule,
        "wildcards": dict(snakemake.wildcards.items()),
        "inputs": [str(path) for path in snakemake.input],
        "outputs": [str(path) for path in snakemake.output],
        "threads": threads_used(snakemake),
        "run": os.environ.get("MNIST_STUDY_RUN", ""),
        "command": os.environ.get("MNIST_STUDY_COMMAND", ""),
        "started": started,
        "finished": time.time(),
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": machine_cpu(),
        "cores": os.cpu_count(),
        "memory_gb": machine_memory_gb(),
        "gpu": os.environ.get("CUDA_VISIBLE_DEVICES") and _gpu_name(),
        "packages": dict(sorted(packages.items())),
        # Where its time went, to here (phases.py); the record's own write is not in it.
        "phases": phases.seconds(),
    }
    with atomic_path(job_record_path(snakemake.log[0])) as tmp:
        tmp.write_text(json.dumps(record, indent=1) + "\n")


def machine_cpu() -> str:
    """The processor's model name (Linux), or what Python knows of it."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_memory_gb() -> float | None:
    """The machine's memory in GB (Linux), or None where it cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1e6, 1)
    except OSError:
        pass
    return None


def _gpu_name() -> str | None:
    """The first GPU's name from nvidia-smi, where there is one."""
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30).stdout
    return out.splitlines()[0] if out else None


def record_imports(rule: str) -> None:
    """With MNIST_STUDY_IMPORTS set to a folder, write there the third-party top-level
    modules this rule imported (beyond Snakemake's own), one per line, in
    `<rule>.<pid>.txt` (one file a job: jobs of one rule may end at the same time).

    `tests/test_envs.py` then imports each of them in an environment built from the
    rule's `envs/*.yaml` alone.
    """
    folder = os.environ.get("MNIST_STUDY_IMPORTS")
    if not folder:
        return
    third_party = sorted(
        name
        for name in job_modules(module_providers())
        if not name.startswith("_") and name != "mnist_study"
    )
    from .storage import atomic_path

    with atomic_path(Path(folder) / f"{rule}.{os.getpid()}.txt") as tmp:
        tmp.write_text("".join(f"{name}\n" for name in third_party))


def module_providers() -> dict[str, list[str]]:
    """importlib.metadata.packages_distributions(): which installed distributions provide
    each top-level module.

    Building it reads every installed package's metadata (0.2 s on a quiet machine, over
    a second on a busy one), the same for every job of an environment; so it is kept in
    the temporary folder, under a name made of the environment's site-packages folders
    and their modification times (installing or removing a package changes them).
    """
    import hashlib
    import json
    import tempfile
    from importlib import metadata

    folders = sorted({p for p in sys.path if p.endswith(("site-packages", "dist-packages"))})
    try:
        stamp = [(p, os.stat(p).st_mtime_ns) for p in folders if os.path.isdir(p)]
    except OSError:
        return metadata.packages_distributions()
    key = hashlib.sha256(repr([sys.prefix, stamp]).encode()).hexdigest()[:20]
    cache = Path(tempfile.gettempdir()) / f"mnist_study-providers-{key}.json"
    try:
        return json.loads(cache.read_text())
    except (OSError, ValueError):
        pass
    providers = metadata.packages_distributions()
    with contextlib.suppress(OSError):
        from .storage import atomic_path

        with atomic_path(cache) as tmp:
            tmp.write_text(json.dumps(providers))
    return providers


def job_modules(providers: dict[str, list[str]]) -> set[str]:
    """The top-level modules outside the standard library that this job imported.

    Snakemake's preamble (run before the script) loads Snakemake and some of the
    packages it requires: of the modules loaded before the package, those that belong
    to Snakemake or its requirements are its, the rest (numpy or pandas, imported by a
    script above its `from mnist_study ...` lines) the job's. `providers` is
    importlib.metadata.packages_distributions().
    """
    import re
    from importlib import metadata

    import mnist_study

    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    snakemakes = {"snakemake"} | {
        normal(re.split(r"[ ;<>=!~\[(]", line)[0])
        for line in metadata.requires("snakemake") or []
        if "extra ==" not in line
    }
    # A module marked absent (None: keras_models.skip_unused_probes) was never imported.
    modules = [name for name, module in list(sys.modules.items()) if module is not None]
    loaded = {name.partition(".")[0] for name in modules} - set(sys.stdlib_module_names)
    return {
        name
        for name in loaded
        if name not in mnist_study.MODULES_BEFORE
        or not {normal(d) for d in providers.get(name, [])} <= snakemakes
        and providers.get(name)
    }


def half_the_cores(cores: int, most: int = 8) -> int:
    """Worker threads of a grid search on a local run with `cores`: half, from 1 to `most`.

    The grid search alone may take a share of --cores: its worker threads change none
    of its scores (rules/common.smk, grid_search_threads). Half leaves room for the
    other jobs beside it, instead of each taking every core in turn.
    """
    return max(1, min(most, int(cores) // 2))


# The threads the job's computation uses, as limit_threads set them (None before).
_threads_used: int | None = None


def limit_threads(threads: int, workers: int = 1) -> None:
    """Hold numpy's BLAS and OpenMP to `threads` in each of `workers` threads of the job.

    A rule passes the config's `threads` (its param), never the `threads:` the scheduler
    gave it, which follows --cores: a thread count can change the order of a sum, and
    with it the result. The pools grow past what Snakemake's OMP_NUM_THREADS (its
    `threads:`, capped at --cores) started them with. The job record notes
    `threads * workers`.
    """
    global _threads_used
    threads = max(1, int(threads))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    _threads_used = threads * max(1, int(workers))


def threads_used(snakemake) -> int:
    """The threads the job computed with: as limit_threads set them, else the rule's
    `threads:` (Snakemake starts a script with OMP_NUM_THREADS and the like at that)."""
    return _threads_used if _threads_used is not None else int(snakemake.threads)


def seed_everything(seed: int) -> np.random.Generator:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - legacy global seed for libraries that still read it
    return np.random.default_rng(seed)
