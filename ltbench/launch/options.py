"""Which launcher a suite uses and how it is sized: the options and their command-line flags (light to import)."""

from __future__ import annotations

import argparse

from dataclasses import dataclass, field

from ltbench.errors import LtbenchError

LAUNCHERS = ("local", "pool", "slurm")


@dataclass
class SlurmOptions:
    """What each array job asks SLURM for; ``extra`` takes any other submitit parameter (slurm_account=...)."""

    partition: str | None = None
    time_min: int = 720
    gpus_per_job: int = 1
    cpus_per_job: int = 8
    mem_gb: float | None = None
    array_parallelism: int = 32
    extra: dict[str, str] = field(default_factory=dict)
    wait: bool = False  # block until every job has ended (else submit and return)
    cluster: str | None = None  # submitit's cluster: None = SLURM when available; "local" runs subprocesses (tests)


@dataclass
class LaunchOptions:
    launcher: str = "local"
    jobs: int = 2  # pool workers
    slurm: SlurmOptions = field(default_factory=SlurmOptions)


def add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("launcher", "where the runs go (see docs/scaling-out.md)")
    group.add_argument("--launcher", choices=LAUNCHERS, default="local",
                       help="local: one after another here (default); pool: --jobs worker processes, one GPU "
                            "each; slurm: one submitit job array")
    group.add_argument("--jobs", type=int, default=2, help="pool: worker processes (default 2)")
    group.add_argument("--dry-run", action="store_true", help="list the runs and whether they are done; run nothing")
    group.add_argument("--partition", help="slurm: partition")
    group.add_argument("--time", type=int, default=720, help="slurm: minutes per job (default 720)")
    group.add_argument("--gpus-per-job", type=int, default=1, help="slurm: GPUs per job (default 1)")
    group.add_argument("--cpus-per-job", type=int, default=8, help="slurm: CPU cores per job (default 8)")
    group.add_argument("--mem-gb", type=float, help="slurm: memory per job in GB")
    group.add_argument("--array-parallelism", type=int, default=32, help="slurm: jobs running at once (default 32)")
    group.add_argument("--slurm-param", action="append", default=[], metavar="KEY=VALUE",
                       help="slurm: any other submitit SLURM parameter, e.g. account=lab (repeatable)")
    group.add_argument("--wait", action="store_true", help="slurm: wait for the jobs and print their results")
    group.add_argument("--cluster", choices=("slurm", "local"), default="slurm",
                       help="slurm: 'local' runs the job array as local subprocesses through submitit, "
                            "to check a setup without a cluster")


def launch_options(args: argparse.Namespace) -> LaunchOptions:
    extra = {}
    for item in args.slurm_param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise LtbenchError(f"--slurm-param takes KEY=VALUE (for example account=lab), not {item!r}.")
        extra[key] = value
    for option, value in (("--jobs", args.jobs), ("--time", args.time), ("--gpus-per-job", args.gpus_per_job),
                          ("--cpus-per-job", args.cpus_per_job), ("--array-parallelism", args.array_parallelism)):
        if value < (0 if option == "--gpus-per-job" else 1):
            raise LtbenchError(f"{option} must be at least {0 if option == '--gpus-per-job' else 1}, not {value}.")
    slurm = SlurmOptions(args.partition, args.time, args.gpus_per_job, args.cpus_per_job, args.mem_gb,
                         args.array_parallelism, extra, args.wait, args.cluster)
    return LaunchOptions(args.launcher, args.jobs, slurm)
