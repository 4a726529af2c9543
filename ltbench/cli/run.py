"""``ltbench run``: train and evaluate one method on one dataset (``--nproc N``: under torchrun, in-process)."""

from __future__ import annotations

import argparse

from ltbench.cli.options import add_configs_option, split_overrides
from ltbench.errors import LtbenchError


def cmd_run(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.config.layering import dump_yaml
    from ltbench.config.resolve import resolve_config
    from ltbench.engine.distributed import init_distributed
    from ltbench.experiment import format_map, run_config
    from ltbench.loggers.options import log_overrides
    from ltbench.runs.run_dir import run_dir_of

    if args.nproc > 1:
        return torchrun(args, extra)
    ranks = init_distributed(args.sync_bn)  # under torchrun: join its process group
    overrides = split_overrides(extra) + log_overrides(args)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    config = resolve_config(args.method, args.dataset, args.config, overrides)
    if args.print_config:
        print(dump_yaml(config), end="")
        print(f"# run id: {run_dir_of(config).name}")
        return 0
    result = run_config(config, ranks)
    if ranks is None or ranks.is_main:
        metrics = result.metrics
        print(f"{result.config['label'] or metrics['method']} on {metrics['dataset']} (seed {metrics['seed']}): "
              f"{format_map(metrics)}")
        print(f"run directory: {result.run_dir}")
    return 0


def torchrun(args: argparse.Namespace, extra: list[str]) -> int:
    """``ltbench run --nproc N ...`` = ``torchrun --standalone --nproc-per-node N -m ltbench run ...``, in-process."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    argv = ["run", "--sync-bn", args.sync_bn, *extra, *[f"--log={value}" for value in args.log or []]]
    for option in ("method", "dataset", "config", "seed"):
        if getattr(args, option) is not None:
            argv += [f"--{option}", str(getattr(args, option))]
    try:
        run(get_args_parser().parse_args(["--standalone", f"--nproc-per-node={args.nproc}", "-m", "ltbench", *argv]))
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        if failure.exitcode == 2:  # an ltbench error, which rank 0 has printed
            return 2
        raise LtbenchError(f"Training process {rank} ended with exit code {failure.exitcode} "
                           f"({failure.signal_name() or 'no signal'}); run the same command again to resume.") from None
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ltbench.loggers.options import add_log_argument

    run = sub.add_parser("run", help="train and evaluate one method on one dataset",
                         epilog="Other options are config overrides, e.g. --train.epochs 5 --loss.name asl.")
    run.add_argument("--method", help="registered method (see `ltbench list methods`)")
    run.add_argument("--dataset", help="registered dataset (see `ltbench list datasets`)")
    run.add_argument("--config", help="YAML config file or preset name of <dataset>/ in the config folders "
                     "(default: <dataset>/<method>.yaml)")
    add_configs_option(run)
    run.add_argument("--seed", type=int, help="random seed (default from the config)")
    run.add_argument("--print-config", action="store_true", help="print the resolved config and run id, then exit")
    run.add_argument("--nproc", type=int, default=1,
                     help="train on N processes with DDP (torchrun; one per GPU, or gloo on CPU)")
    run.add_argument("--sync-bn", default="auto", choices=("auto", "on", "off"),
                     help="under torchrun: SyncBatchNorm (auto: on CUDA when BatchNorm layers train)")
    add_log_argument(run)
    run.set_defaults(func=cmd_run)
