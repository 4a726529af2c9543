"""``ltbench eval --scores FILE --dataset NAME`` and ``ltbench export RUN --out FILE``."""

from __future__ import annotations

import argparse

from ltbench.errors import LtbenchError


def cmd_eval_scores(args: argparse.Namespace) -> int:
    """Check and score a submission file, print its mAPs with their 95% intervals, record it; exit 2 if rejected."""
    from ltbench.reports.reference import METRICS
    from ltbench.submissions.record import record_submission, score_file

    if not args.dataset:
        raise LtbenchError("ltbench eval --scores FILE needs --dataset NAME, the dataset whose test split it scores.")
    scored = score_file(args.scores, args.dataset)
    meta = scored.submission.metadata
    print(f"{meta['method']} on {scored.split.dataset} (submission {args.scores}, seed {scored.submission.seed}, "
          f"checkpoint: {meta['checkpoint']}):")
    for metric in METRICS:
        low, high = scored.intervals[metric]
        print(f"  mAP {metric:<6} {scored.metrics[metric]:6.2f}  95% interval [{low:.2f}, {high:.2f}]")
    if not args.no_record:
        print(f"recorded in {record_submission(scored, args.scores)}")
    return 0


def cmd_export(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.submissions.export import export_run

    print(f"wrote {export_run(args.run_dir, args.out)}")
    return 0


def add_eval_scores_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scores", metavar="FILE", help="score a submission file (docs/leaderboard.md) instead of a run")
    parser.add_argument("--dataset", help="with --scores: the dataset whose test split the file scores")
    parser.add_argument("--no-record", action="store_true",
                        help="with --scores: print only; do not keep it under $LTBENCH_RESULTS/submissions")


def add_export_parser(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="write a finished run's test scores as a submission file")
    export.add_argument("run_dir", help="a finished run directory")
    export.add_argument("--out", required=True, help="the submission file to write (.npz)")
    export.set_defaults(func=cmd_export)
