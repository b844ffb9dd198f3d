"""A single-node SLURM cluster on this machine, for testing the SLURM profile for real.

Installs Debian's slurmctld, slurmd, slurm-client and munge when they are missing
(root only), starts munged, slurmctld and slurmd without systemd, and stops exactly
the daemons it started, by the PIDs in their pid files.

No accounting database is set up: the SLURM plugin is told to poll job states with
`squeue` (MinJobAge keeps finished jobs visible to it), and finished jobs are
recorded by jobcomp/filetxt, which the test reads to prove the jobs went through SLURM.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
MUNGE_PID = Path("/run/munge/munged.pid")


def can_run() -> str | None:
    """None when a cluster can be started here, else the reason it cannot."""
    if all(shutil.which(p) for p in ("slurmctld", "slurmd", "sbatch", "munged")):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "SLURM is not installed and cannot be installed (needs root and apt-get)"
    return None


def install() -> None:
    if all(shutil.which(p) for p in ("slurmctld", "slurmd", "sbatch", "munged")):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
        check=True,
        env=env,
        timeout=900,
        capture_output=True,
    )


def _alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError, IndexError):
        return None


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")


class SlurmCluster:
    # Job steps (srun inside a job) find the configuration only at the default path,
    # so it is written there for the cluster's lifetime and any earlier file restored.
    CONF = Path("/etc/slurm/slurm.conf")
    CLUSTER_LINE = "ClusterName=mnist-test"

    def __init__(self, root: Path):
        self.root = root
        self.conf = self.CONF
        self.backup = root / "slurm.conf.before"
        self.jobcomp = root / "jobcomp.log"
        self.started: list[Path] = []  # pid files of the daemons this object started
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def write_config(self) -> None:
        host = socket.gethostname().split(".")[0]
        cpus = os.cpu_count() or 1
        memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.conf.parent.mkdir(parents=True, exist_ok=True)
        # A file of this class's own (a killed run's) is not kept: restored, it would
        # point every later `scontrol` (which Snakemake's SLURM plugin runs at each
        # start) at a controller that is gone, a 10 s wait for every snakemake command.
        if (
            self.conf.exists()
            and not self.backup.exists()
            and self.CLUSTER_LINE not in self.conf.read_text().splitlines()
        ):
            shutil.copy2(self.conf, self.backup)
        self.conf.write_text(
            "\n".join(
                [
                    self.CLUSTER_LINE,
                    f"SlurmctldHost={host}(127.0.0.1)",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    "SlurmctldPort=16817",
                    "SlurmdPort=16818",
                    f"StateSaveLocation={self.root / 'state'}",
                    f"SlurmdSpoolDir={self.root / 'spool'}",
                    f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
                    f"SlurmdPidFile={self.root / 'slurmd.pid'}",
                    f"SlurmctldLogFile={self.root / 'log' / 'slurmctld.log'}",
                    f"SlurmdLogFile={self.root / 'log' / 'slurmd.log'}",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    "JobAcctGatherType=jobacct_gather/none",
                    "JobCompType=jobcomp/filetxt",
                    f"JobCompLoc={self.jobcomp}",
                    "MailProg=/bin/true",
                    "MinJobAge=600",
                    "ReturnToService=2",
                    "DefMemPerCPU=1000",
                    f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} "
                    f"RealMemory={max(1000, memory_mb - 2000)} State=UNKNOWN",
                    "PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )

    def start_munge(self) -> None:
        if _alive(MUNGE_PID):
            return
        run_dir = Path("/run/munge")
        run_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(run_dir, "munge", "munge")
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            subprocess.run(["mungekey", "--create", "--keyfile", str(key)], check=True)
            shutil.chown(key, "munge", "munge")
            key.chmod(0o600)
        for sub in ("/var/lib/munge", "/var/log/munge"):
            Path(sub).mkdir(parents=True, exist_ok=True)
            shutil.chown(sub, "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True, timeout=30)
        _wait_for(lambda: _alive(MUNGE_PID), 20, "munged")
        self.started.append(MUNGE_PID)

    def start(self) -> None:
        install()
        self.write_config()
        self.start_munge()
        subprocess.run(["slurmctld", "-f", str(self.conf)], check=True, env=self.env, timeout=60)
        self.started.append(self.root / "slurmctld.pid")
        subprocess.run(["slurmd", "-f", str(self.conf)], check=True, env=self.env, timeout=60)
        self.started.append(self.root / "slurmd.pid")
        _wait_for(self.node_idle, 90, "the SLURM node to become idle")

    def node_idle(self) -> bool:
        proc = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], env=self.env, capture_output=True, text=True, timeout=30
        )
        return proc.returncode == 0 and proc.stdout.strip() == "idle"

    def completed_jobs(self) -> list[dict]:
        """Finished jobs as recorded by jobcomp/filetxt (one line of key=value per job)."""
        if not self.jobcomp.exists():
            return []
        jobs = []
        for line in self.jobcomp.read_text().splitlines():
            fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
            jobs.append(fields)
        return jobs

    def stop(self) -> None:
        for pid_file in reversed(self.started):
            pid = _alive(pid_file)
            if pid is None:
                continue
            os.kill(pid, signal.SIGTERM)
            try:
                _wait_for(lambda p=pid_file: _alive(p) is None, 20, f"{pid_file.name} to stop")
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
        self.started.clear()
        if self.backup.exists():
            shutil.copy2(self.backup, self.conf)
        else:
            self.conf.unlink(missing_ok=True)
