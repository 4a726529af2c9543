"""TensorBoard and W&B loggers: what they record equals metrics.json and history.jsonl, read back by their own readers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from ltbench.cli import main
from ltbench.cli.options import split_overrides
from ltbench.loggers import RunInfo, logger_names
from ltbench.runs.run_dir import config_id, flat_config

TINY = ["--dataset.max_count", "120", "--dataset.num_test", "200", "--input.size", "32", "--train.epochs", "3",
        "--eval.interval", "1"]


def only_run_dir(root: Path) -> Path:
    (run_dir,) = (root / "mnist_lt").iterdir()
    return run_dir


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory):
    """One tiny mnist_lt run with both trackers (W&B offline): its run directory, metrics and history."""
    pytest.importorskip("tensorboard")
    pytest.importorskip("wandb")
    root = tmp_path_factory.mktemp("logged")
    mp = pytest.MonkeyPatch()
    for name, value in {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_ERROR_REPORTING": "false",
                        "WANDB_CONFIG_DIR": str(root / "wandb-config"), "WANDB_CACHE_DIR": str(root / "wandb-cache"),
                        "WANDB_DATA_DIR": str(root / "wandb-data")}.items():
        mp.setenv(name, value)  # offline, and nothing written outside the test's folder
    try:
        assert main(["run", "--method", "erm", "--dataset", "mnist_lt", *TINY, "--output.root", str(root),
                     "--log", "tensorboard", "--log", "wandb"]) == 0
    finally:
        mp.undo()
    run_dir = only_run_dir(root)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    return run_dir, metrics, history


@pytest.mark.slow
def test_logging_does_not_change_the_run_id(logged_run, capsys):
    run_dir, _, _ = logged_run
    assert main(["run", "--method", "erm", "--dataset", "mnist_lt", *TINY, "--print-config"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"# run id: {run_dir.name}")
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert logger_names(config) == ["tensorboard", "wandb"]


@pytest.mark.slow
def test_tensorboard_events_equal_metrics_and_history(logged_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    run_dir, metrics, history = logged_run
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()

    def series(tag):
        return {e.step: e.value for e in events.Scalars(tag)}

    last = metrics["epochs"]
    assert series("test_map/total")[last] == pytest.approx(metrics["map"]["total"], rel=1e-6)  # float32 in events
    assert max(series("test_map/total")) == last  # the last test mAP is the reported model's
    for group in ("head", "medium", "tail"):
        assert series(f"test_map/{group}")[last] == pytest.approx(metrics["map"][group], rel=1e-6)
    assert None not in metrics["per_class_ap"]  # else the loop below would skip a class
    for row in history[:-1]:  # every evaluated epoch, by group
        assert series("test_map/total")[row["epoch"]] == pytest.approx(row["test_map"], rel=1e-6)
        assert series("test_map/tail")[row["epoch"]] == pytest.approx(row["test_map_groups"]["tail"], rel=1e-6)
    assert series("train/loss") == pytest.approx({r["epoch"]: r["train_loss"] for r in history}, rel=1e-6)
    groups = len(history[0]["lr_groups"])
    for index in range(groups):
        expected = {r["epoch"]: r["lr_groups"][index] for r in history}
        assert series(f"lr/group{index}") == pytest.approx(expected, rel=1e-6, abs=1e-12)
    for name, ap in zip(metrics["class_names"], metrics["per_class_ap"]):
        assert series(f"per_class_ap/{name}")[last] == pytest.approx(ap, rel=1e-6)
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    config = flat_config(yaml.safe_load((run_dir / "config.yaml").read_text()))
    assert hparams["train.epochs"].number_value == config["train.epochs"] == 3
    assert hparams["method.name"].string_value == "erm"


@pytest.mark.slow
def test_wandb_offline_run_equals_metrics_and_history(logged_run):
    from wandb_records import history_rows, read_records, run_record

    run_dir, metrics, history = logged_run
    (file,) = (run_dir / "wandb").glob("offline-run-*/run-*.wandb")
    records = read_records(file)
    run = run_record(records)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert run.run_id == run.display_name == run_dir.name and run.run_group == config_id(config)
    assert run.run_group == metrics["config_id"]
    logged_config = {item.key: json.loads(item.value_json) for item in run.config.update}
    assert logged_config["train.epochs"] == 3 and logged_config["dataset.name"] == "mnist_lt"
    rows = history_rows(records)
    for row in history:
        logged = rows[row["epoch"]]
        assert logged["train/loss"] == pytest.approx(row["train_loss"])
        assert [logged[f"lr/group{i}"] for i in range(len(row["lr_groups"]))] == pytest.approx(row["lr_groups"])
        if "test_map_groups" in row:
            assert logged["test_map/total"] == pytest.approx(row["test_map"])
            assert logged["test_map/head"] == pytest.approx(row["test_map_groups"]["head"])
    final = rows[metrics["epochs"]]
    assert final["test_map/total"] == pytest.approx(metrics["map"]["total"])
    ap = {name: final[f"per_class_ap/{name}"] for name in metrics["class_names"]}
    assert list(ap.values()) == pytest.approx(metrics["per_class_ap"])
    assert final["metrics/cf1/total"] == pytest.approx(metrics["metrics"]["cf1"]["total"])


class FakeWandb:
    """Stands in for the ``wandb`` module: records init's arguments and every log call."""

    class Image:
        def __init__(self, path):
            self.path = path

    def __init__(self):
        self.inits, self.logged, self.summary, self.config, self.finished = [], [], {}, {}, False

    def init(self, **kwargs):
        self.inits.append(kwargs)
        fake = self

        class Config:
            def update(self, values, allow_val_change=False):
                fake.config.update(values)

        class Run:
            config, summary = Config(), fake.summary

            def log(self, values, step):
                fake.logged.append((step, values))

            def finish(self):
                fake.finished = True

        return Run()


def test_wandb_logger_names_groups_and_logs_figures_with_a_fake_module(tmp_path, monkeypatch):
    from ltbench.loggers.wandb_logger import WandbLogger

    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    monkeypatch.setenv("WANDB_PROJECT", "lt-project")
    config = {"seed": 1, "dataset": {"name": "voc_lt"}, "method": {"name": "erm"}, "output": {"log": ["wandb"]}}
    logger = WandbLogger(RunInfo(tmp_path, "erm_s1_abc", "cfg123", config))
    logger.log_epoch({"epoch": 1, "train_loss": 0.5, "lr": 0.1, "lr_groups": [0.1, 0.01]})
    figure = tmp_path / "per_class_ap.png"
    metrics = {"epochs": 2, "map": {"total": 50.0, "head": 60.0}, "class_names": ["a", "b"],
               "per_class_ap": [40.0, None]}
    logger.log_final(metrics, config, [figure])
    logger.close()
    (init,) = fake.inits
    assert (init["project"], init["name"], init["id"], init["group"]) == ("lt-project", "erm_s1_abc", "erm_s1_abc",
                                                                          "cfg123")
    assert init["config"]["output.log"] == "['wandb']" and init["dir"] == str(tmp_path)
    assert fake.logged[0] == (1, {"train/loss": 0.5, "lr/group0": 0.1, "lr/group1": 0.01})
    step, final = fake.logged[1]
    assert step == 2 and final["test_map/total"] == 50.0 and final["per_class_ap/a"] == 40.0
    assert "per_class_ap/b" not in final and final["figures/per_class_ap"].path == str(figure)
    assert fake.summary == {"final/total": 50.0, "final/head": 60.0} and fake.finished


def test_tensorboard_logs_the_run_figures(tmp_path):
    pytest.importorskip("tensorboard")
    from PIL import Image
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from ltbench.loggers.tensorboard_logger import TensorBoardLogger

    pixels = np.zeros((6, 8, 3), dtype=np.uint8)
    pixels[:, :4, 0] = 255  # left half red
    Image.fromarray(pixels).save(tmp_path / "curve.png")
    logger = TensorBoardLogger(tmp_path / "tb")
    metrics = {"epochs": 4, "map": {"total": 10.0}, "class_names": ["a"], "per_class_ap": [10.0]}
    logger.log_final(metrics, {"seed": 1, "output": {"log": ["tensorboard"]}}, [tmp_path / "curve.png"])
    logger.close()
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0})
    events.Reload()
    (image,) = events.Images("figures/curve")
    assert (image.step, image.width, image.height) == (4, 8, 6)
    decoded = np.asarray(Image.open(__import__("io").BytesIO(image.encoded_image_string)))
    assert (decoded == pixels).all()


@pytest.mark.slow
def test_suite_logs_every_run_it_starts(tmp_path, monkeypatch):
    pytest.importorskip("tensorboard")
    (tmp_path / "configs" / "suites").mkdir(parents=True)
    (tmp_path / "configs" / "suites" / "pair.yaml").write_text(
        "rows:\n  - {label: ERM, method: erm}\n  - {label: Focal, method: focal}\n")
    monkeypatch.setenv("LTBENCH_CONFIGS", str(tmp_path / "configs"))
    monkeypatch.setenv("LTBENCH_RESULTS", str(tmp_path / "results"))
    tiny = [*TINY[:6], "--train.epochs", "1"]
    assert main(["suite", "pair", "--dataset", "mnist_lt", "--log", "tensorboard", *tiny]) == 0
    run_dirs = sorted((tmp_path / "results" / "runs" / "mnist_lt").iterdir())
    assert len(run_dirs) == 2
    assert all(list((run / "tensorboard").glob("events.out.tfevents.*")) for run in run_dirs)


@pytest.mark.slow
def test_only_the_writing_rank_logs(tmp_path, monkeypatch):
    import ltbench.engine.distributed as distributed
    import ltbench.experiment as experiment

    monkeypatch.setattr(experiment, "is_main_rank", lambda: False)
    monkeypatch.setattr(distributed, "is_main_rank", lambda: False)
    monkeypatch.setattr(experiment, "open_loggers", lambda *a: pytest.fail("a non-zero rank opened loggers"))  # the
    # name experiment.py imported, where the call happens
    overrides = split_overrides([*TINY, "--train.epochs", "1", "--output.root", str(tmp_path)])
    result = experiment.run("erm", "mnist_lt", overrides=[*overrides, "output.log=[tensorboard]"])
    assert result.metrics["map"]["total"] > 0
    assert not (result.run_dir / "tensorboard").exists()


@pytest.mark.slow
def test_a_plugin_logger_gets_every_history_row_and_the_final_metrics(tmp_path):
    from ltbench.experiment import run
    from ltbench.registry import register_logger

    calls = []

    class Recording:
        def log_epoch(self, record):
            calls.append(("epoch", dict(record)))

        def log_final(self, metrics, config, figures):
            calls.append(("final", metrics, config, figures))

        def close(self):
            calls.append(("close",))

    @register_logger("recording")
    def recording(run):
        """Records what it is given (a test plugin)."""
        calls.append(("open", run))
        return Recording()

    overrides = split_overrides([*TINY, "--train.epochs", "2", "--output.root", str(tmp_path)])
    result = run("erm", "mnist_lt", overrides=[*overrides, "output.log=[recording]"])
    history = [json.loads(line) for line in (result.run_dir / "history.jsonl").read_text().splitlines()]
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert [c[0] for c in calls] == ["open", "epoch", "epoch", "final", "close"]
    info = calls[0][1]
    assert (info.run_dir, info.run_id, info.config_id) == (result.run_dir, result.run_dir.name, metrics["config_id"])
    assert [c[1]["train_loss"] for c in calls[1:3]] == [row["train_loss"] for row in history[:2]]
    assert calls[1][1]["test_map_groups"] == history[0]["test_map_groups"]
    final = calls[3]
    assert final[1]["map"] == pytest.approx(metrics["map"]) and final[2] == result.config and final[3] == []
