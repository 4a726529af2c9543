"""An ``ltbench run`` of ERM on mnist_lt through ``ltbench.cli.main``, shared by the resolve and error tests."""

from __future__ import annotations

from ltbench.cli import main


def run_cli(tmp_path, capsys, *args):
    code = main(["run", "--method", "erm", "--dataset", "mnist_lt", f"--output.root={tmp_path / 'runs'}", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err
