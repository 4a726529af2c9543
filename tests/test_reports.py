"""Reports: collection of run dirs, tables against hand-computed stats, reference CSVs, plots."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import matplotlib.image
import numpy as np
import yaml
import pytest
from rich.console import Console

from ltbench.cli import main
from ltbench.errors import LtbenchError
from ltbench.reports import (
    build_table,
    collect_runs,
    default_label,
    find_manifests,
    load_reference,
    plot_ap_vs_frequency,
    plot_class_heatmap,
    plot_curves,
    plot_intervals,
    render_csv,
    render_latex,
    render_markdown,
    render_rich,
    write_tables,
)
from ltbench.runs.test_selected import ORACLE_LABEL
from ltbench.reports.reference import METRICS, REFERENCE_DIR
from ltbench.fileio.atomic import write_json
from ltbench.runs.run_dir import RunDir, config_id, read_run
from run_dirs import make_run

# (dataset, method, encoder, seed) -> total/head/medium/tail mAP
RUNS = {
    ("voc_lt", "erm", "glove", 1): (70.0, 80.0, 60.0, 50.0),
    ("voc_lt", "erm", "glove", 2): (72.0, 82.0, 61.0, 52.0),
    ("voc_lt", "erm", "glove", 3): (71.0, 84.0, 65.0, 51.0),
    ("voc_lt", "asl", "glove", 1): (75.0, 79.0, 70.0, 60.0),
    ("voc_lt", "asl", "glove", 2): (77.5, 78.0, 71.0, 63.0),
    ("voc_lt", "cprfl", "glove", 1): (74.0, 70.0, 72.5, 58.0),
    ("coco_lt", "erm", "glove", 1): (40.0, 48.0, 45.0, 25.0),
    ("coco_lt", "erm", "glove", 2): (42.0, 49.0, 47.0, 27.0),
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    for (dataset, method, encoder, seed), maps in RUNS.items():
        make_run(runs, f"{dataset}/{method}_s{seed}", dataset, method, seed, maps, encoder=encoder)
    return runs


def expected(dataset: str, method: str, metric: str) -> np.ndarray:
    return np.array([m[METRICS.index(metric)] for (ds, me, _, _), m in RUNS.items() if (ds, me) == (dataset, method)])


def row(frame, dataset: str, label: str):  # noqa: ANN001, ANN201 - a DataFrame and its row
    """The table row of ``label`` on ``dataset``."""
    found = frame[(frame["dataset"] == dataset) & (frame["label"] == label)]
    assert len(found) == 1, (dataset, label)
    return found.iloc[0]


def md_line(markdown: str, label: str) -> list[str]:
    """The cells of the markdown row whose first cell is ``label``."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == label:
            return cells[1:]
    raise AssertionError(f"no row {label!r}")


def test_table_holds_means_and_sample_stds_over_seeds(root: Path) -> None:
    collection = collect_runs(root)
    assert collection.problems == []
    assert collection.labels == ["ERM", "ASL", "CPRFL-GloVe"]  # published names, paper row order
    assert collection.datasets == ["voc_lt", "coco_lt"]
    table = build_table(collection)
    for dataset, method, label in (("voc_lt", "erm", "ERM"), ("voc_lt", "asl", "ASL"), ("coco_lt", "erm", "ERM")):
        cell = row(table, dataset, label)
        assert cell["n"] == len(expected(dataset, method, "total"))
        for metric in METRICS:
            values = expected(dataset, method, metric)
            assert cell[f"{metric}_mean"] == pytest.approx(values.mean())
            assert cell[f"{metric}_std"] == pytest.approx(values.std(ddof=1))
            assert cell[f"{metric}_low"] <= cell[f"{metric}_high"]
    single = row(table, "voc_lt", "CPRFL-GloVe")
    assert (single["n"], single["total_mean"], np.isnan(single["total_std"])) == (1, 74.0, True)
    assert table[(table["dataset"] == "coco_lt") & (table["label"] == "ASL")].empty


def test_markdown_and_latex_show_intervals_and_bold_the_best_set(root: Path) -> None:
    table = build_table(collect_runs(root))
    markdown, latex = render_markdown(table), render_latex(table)
    asl, erm, cprfl = (md_line(markdown, label) for label in ("ASL", "ERM", "CPRFL-GloVe"))
    asl_std = np.std([75.0, 77.5], ddof=1)
    interval = f"[{row(table, 'voc_lt', 'ASL')['total_low']:.1f}, {row(table, 'voc_lt', 'ASL')['total_high']:.1f}]"
    assert asl[0] == f"**76.25 ± {asl_std:.2f} {interval}**"  # the top mean is always in its best set
    assert erm[0].startswith(f"71.00 ± {np.std([70, 72, 71], ddof=1):.2f} [") == (not row(table, "voc_lt", "ERM")[
        "total_best"])
    assert cprfl[2].startswith("**72.50 [") and cprfl[4] == "1"
    assert md_line(markdown, "ASL")[5] == "–"  # ASL has no COCO-LT run
    assert "**" not in " ".join(erm[5:])  # ERM alone on COCO-LT: nothing to be best against
    assert rf"\textbf{{76.25 $\pm$ {asl_std:.2f} {interval}}}" in latex
    assert latex.count(r"\toprule") == 1 and r"\multicolumn{5}{c}{COCO-LT}" in latex
    assert "not significantly worse than the best mean" in markdown and "% Bold: rows not" in latex


def test_csv_has_separate_mean_std_n_columns(root: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(build_table(collect_runs(root))))))
    assert [(r["label"], r["dataset"]) for r in rows] == [
        ("ERM", "voc_lt"),
        ("ERM", "coco_lt"),
        ("ASL", "voc_lt"),
        ("CPRFL-GloVe", "voc_lt"),
    ]
    erm = rows[0]
    assert int(erm["n"]) == 3
    assert float(erm["tail_mean"]) == pytest.approx(51.0)
    assert float(erm["tail_std"]) == pytest.approx(1.0, abs=1e-4)
    assert rows[3]["total_std"] == "" and rows[3]["total_published"] == ""
    assert float(erm["total_low"]) < float(erm["total_mean"]) < float(erm["total_high"])  # the interval brackets it


def test_bad_run_dirs_are_reported_and_skipped(root: Path) -> None:
    truncated = make_run(root, "bad/truncated", "voc_lt", "erm", 7, (1.0, 1.0, 1.0, 1.0))
    text = (truncated / "metrics.json").read_text()
    (truncated / "metrics.json").write_text(text[: len(text) // 2])
    no_config = make_run(root, "bad/no_config", "voc_lt", "erm", 8, (1.0, 1.0, 1.0, 1.0))
    (no_config / "config.yaml").unlink()
    running = make_run(root, "bad/running", "voc_lt", "erm", 9, (1.0, 1.0, 1.0, 1.0), status="running")
    no_tail = make_run(root, "bad/no_tail", "voc_lt", "erm", 10, (1.0, 1.0, 1.0, 1.0))
    metrics = json.loads((no_tail / "metrics.json").read_text())
    del metrics["map"]["tail"]
    write_json(no_tail / "metrics.json", metrics)
    bad_yaml = make_run(root, "bad/bad_yaml", "voc_lt", "erm", 11, (1.0, 1.0, 1.0, 1.0))
    (bad_yaml / "config.yaml").write_text("train: {epochs: [1, 2\n")  # the C loader's error is caught too

    collection = collect_runs(root)
    assert len(collection.problems) == 5
    assert all("\n" not in p for p in collection.problems)
    reasons = ((truncated, "unreadable"), (no_config, "config.yaml"), (running, "running"), (no_tail, "map.tail"),
               (bad_yaml, "unreadable (ParserError"))
    for run, why in reasons:
        assert any(str(run) in p and why in p for p in collection.problems), why
    assert [r.metrics["seed"] for r in collection.runs("voc_lt", "ERM")] == [1, 2, 3]


def test_repeated_seed_and_config_is_counted_once(root: Path) -> None:
    make_run(root, "voc_lt/erm_s1_again", "voc_lt", "erm", 1, (0.0, 0.0, 0.0, 0.0), config_hash="voc_lt-erm-glove-1")
    collection = collect_runs(root)
    assert [r.path.name for r in collection.runs("voc_lt", "ERM")] == ["erm_s1", "erm_s2", "erm_s3"]
    assert len(collection.problems) == 1 and "erm_s1_again" in collection.problems[0]
    assert row(build_table(collection), "voc_lt", "ERM")["total_mean"] == pytest.approx(71.0)


def test_filters_by_dataset_method_and_label(root: Path) -> None:
    assert list(collect_runs(root, dataset="coco_lt").rows) == [("coco_lt", "ERM")]
    assert list(collect_runs(root, method="asl").rows) == [("voc_lt", "ASL")]
    assert list(collect_runs(root, label="CPRFL-GloVe").rows) == [("voc_lt", "CPRFL-GloVe")]
    with pytest.raises(LtbenchError, match="does not exist"):
        collect_runs(root / "nowhere")


def test_default_labels_follow_the_mapping() -> None:
    def config(method: str, encoder: str) -> dict:
        return {"method": {"name": method}, "text": {"encoder": encoder}}

    assert default_label(config("cb_focal", "glove")) == "CB Focal"
    assert default_label(config("cprfl", "clip-rn50")) == "CPRFL-CLIP"
    assert default_label(config("cprfl", "random")) == "cprfl"
    assert default_label(config("my_method", "glove")) == "my_method"


def test_explicit_label_wins_over_the_mapping(tmp_path: Path) -> None:
    make_run(tmp_path, "a", "voc_lt", "cprfl", 1, (1.0, 2.0, 3.0, 4.0), label="DB No-Focal")
    assert list(collect_runs(tmp_path).rows) == [("voc_lt", "DB No-Focal")]


def test_manifest_keeps_its_row_order_and_only_its_runs(root: Path, tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    manifest = {  # a suite of the user's: no verdict on earlier recipes, its rows resolve nowhere
        "suite": "mine",
        "dataset": "voc_lt",
        "rows": [
            {"label": "ASL", "run_dirs": [str(root / "voc_lt/asl_s1"), str(root / "voc_lt/asl_s2")]},
            {"label": "Baseline", "run_dirs": [str(root / "voc_lt/erm_s1"), str(root / "voc_lt/gone")]},
        ],
    }
    write_json(suites / "mine_voc_lt.json", manifest)
    write_json(suites / "mine0_voc_lt.json", {**manifest, "rows": []})
    manifests = find_manifests("mine", suites)
    assert [m.name for m in manifests] == ["mine_voc_lt.json"]
    collection = collect_runs(manifests=manifests)
    assert collection.labels == ["ASL", "Baseline"]  # manifest order, not the paper's
    assert [r.metrics["seed"] for r in collection.runs("voc_lt", "Baseline")] == [1]
    assert len(collection.problems) == 1 and "gone" in collection.problems[0]
    markdown = render_markdown(build_table(collection))
    names = [line.strip("|").split("|")[0].strip() for line in markdown.splitlines()]
    assert names.index("ASL") < names.index("Baseline")


def test_reference_csvs_load_with_sources() -> None:
    for name, rows in (("table1", 11), ("table2", 6), ("table3", 4)):
        reference = load_reference(name)
        assert reference.table == name
        assert len(reference.rows) == 2 * rows
        assert {r.dataset for r in reference.rows} == {"voc_lt", "coco_lt"}
        assert all("CPRFL" in r.source and name[-1] in r.source for r in reference.rows)
    erm = load_reference("table1").lookup("ERM", "coco_lt")
    assert erm is not None and erm.values == {"total": 41.27, "head": 48.48, "medium": 49.06, "tail": 24.25}
    assert load_reference("table2").lookup("ASL", "voc_lt").values["tail"] == 86.43
    bbn = load_reference("table1").lookup("BBN", "coco_lt")
    assert bbn is not None and bbn.values == {"total": 50.00, "head": 49.79, "medium": 53.99, "tail": 44.91}
    assert "published only" in load_reference("table1").lookup("OLTR", "voc_lt").source  # no OLTR method
    assert (REFERENCE_DIR / "README.md").is_file()


def test_published_numbers_and_difference_beside_ours(root: Path) -> None:
    table = build_table(collect_runs(root), reference=load_reference("table1"))
    cell = row(table, "voc_lt", "ERM")
    assert cell["total_published"] == 70.86
    assert cell["total_diff"] == pytest.approx(71.0 - 70.86)
    assert cell["head_diff"] == pytest.approx(82.0 - 68.91)
    markdown = render_markdown(table)
    assert md_line(markdown, "↳ published")[:5] == ["70.86", "68.91", "80.20", "65.31", ""]
    assert md_line(markdown, "↳ ours − published")[:4] == ["+0.14", "+13.09", "-18.20", "-14.31"]
    assert "Yan et al., ACM MM 2024" in markdown
    coco = next(r for r in csv.DictReader(io.StringIO(render_csv(table))) if r["dataset"] == "coco_lt")
    assert float(coco["tail_published"]) == 24.25 and float(coco["tail_diff"]) == pytest.approx(26.0 - 24.25)
    console = Console(record=True, width=250)
    console.print(render_rich(table))
    text = console.export_text()
    assert "ours − published" in text and "CPRFL-GloVe" in text


def test_write_tables_writes_every_format(root: Path, tmp_path: Path) -> None:
    table = build_table(collect_runs(root))
    paths = write_tables(table, tmp_path / "tables", "table1")
    assert [p.name for p in paths] == ["table1.md", "table1.csv", "table1.tex"]
    assert paths[0].read_text() == render_markdown(table)
    assert paths[2].read_text() == render_latex(table)


@pytest.mark.slow
def test_plots_are_written_as_png_and_pdf(root: Path, tmp_path: Path) -> None:
    collection = collect_runs(root)
    for plot in (plot_ap_vs_frequency, plot_intervals, plot_class_heatmap, plot_curves):
        paths = plot(collection, tmp_path / "fig" / plot.__name__)
        assert [p.suffix for p in paths] == [".png", ".pdf"]
        assert all(p.stat().st_size > 0 for p in paths)
        image = matplotlib.image.imread(paths[0])
        assert image.ndim == 3 and image.shape[0] > 100
        assert paths[1].read_bytes().startswith(b"%PDF")
    with pytest.raises(LtbenchError, match="No finished runs"):
        plot_curves(collect_runs(tmp_path / "fig"), tmp_path / "empty")


def test_ap_plot_accepts_a_class_without_test_positives(root: Path, tmp_path: Path) -> None:
    metrics_file = root / "voc_lt" / "erm_s1" / "metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics["per_class_ap"][0] = None  # how the evaluator writes a class with no positive test image
    write_json(metrics_file, metrics)
    paths = plot_ap_vs_frequency(collect_runs(root), tmp_path / "ap")
    assert all(p.stat().st_size > 0 for p in paths)


def test_config_id_ignores_only_seed_output_and_label() -> None:
    base = {"seed": 1, "label": "x", "output": {"root": "a"}, "train": {"epochs": 3}}
    same = {"seed": 2, "label": None, "output": {"root": "b"}, "train": {"epochs": 3}}
    by_hand = hashlib.sha256(json.dumps({"train": {"epochs": 3}}, sort_keys=True).encode()).hexdigest()[:10]
    assert config_id(base) == config_id(same) == by_hand
    assert config_id({**base, "train": {"epochs": 4}}) != by_hand


def test_runs_of_one_label_with_different_configs_are_separate_rows(tmp_path: Path) -> None:
    # three seed-1 ERM runs with different configs, plus seeds 2 and 3 of the first config
    configs = {"e3": (3, 0.001), "e5_lr01": (5, 0.01), "e5": (5, 0.001)}
    totals = {"e3": 70.0, "e5_lr01": 60.0, "e5": 66.0}
    for name, (epochs, lr) in configs.items():
        train = {"train": {"epochs": epochs, "optimizer": {"lr": lr}}}
        make_run(tmp_path, f"{name}_s1", "voc_lt", "erm", 1, (totals[name], 1, 2, 3), config=train)
    for seed, total in ((2, 72.0), (3, 71.0)):
        make_run(tmp_path, f"e3_s{seed}", "voc_lt", "erm", seed, (total, 1, 2, 3),
                 config={"train": {"epochs": 3, "optimizer": {"lr": 0.001}}})
    collection = collect_runs(tmp_path)
    assert collection.labels == ["ERM [train.epochs=3, train.optimizer.lr=0.001]",
                                 "ERM [train.epochs=5, train.optimizer.lr=0.001]",
                                 "ERM [train.epochs=5, train.optimizer.lr=0.01]"]
    assert collection.problems == ["voc_lt / ERM: runs of 3 different configs; shown as separate rows"]
    table = build_table(collection)
    cells = [row(table, "voc_lt", label) for label in collection.labels]
    assert [c["n"] for c in cells] == [3, 1, 1]  # never one row "ERM, n=5" or "n=3" over different configs
    assert [c["total_mean"] for c in cells] == [pytest.approx(71.0), 66.0, 60.0]
    assert cells[0]["total_std"] == pytest.approx(1.0)  # sample std of 70, 72, 71


def test_a_split_row_with_many_differing_keys_names_three_and_its_config(tmp_path: Path) -> None:
    first = {"train": {"epochs": 3, "batch_size": 8, "ema": None, "sampler": "random"}}
    second = {"train": {"epochs": 4, "batch_size": 16, "ema": 0.9, "sampler": "class_aware"}}
    for name, train in (("a", first), ("b", second)):
        make_run(tmp_path, name, "voc_lt", "erm", 1, (50, 1, 2, 3), config=train)
    first_id, second_id = (config_id(read_run(tmp_path / name).config) for name in ("a", "b"))
    assert sorted(collect_runs(tmp_path).labels) == [
        f"ERM [train.batch_size=16, train.ema=0.9, train.epochs=4, +1 more, config {second_id}]",
        f"ERM [train.batch_size=8, train.ema=null, train.epochs=3, +1 more, config {first_id}]",
    ]


def test_table_command_shows_the_split_rows(tmp_path: Path) -> None:
    for epochs, total in ((3, 61.5), (5, 64.25)):
        make_run(tmp_path / "runs", f"e{epochs}", "voc_lt", "erm", 1, (total, 1, 2, 3),
                 config={"train": {"epochs": epochs}})
    assert main(["table", "--runs", str(tmp_path / "runs"), "--reference", "none", "--out", str(tmp_path)]) == 0
    markdown = (tmp_path / "runs.md").read_text()
    assert md_line(markdown, "ERM [train.epochs=5]")[0].startswith("**64.25 [")  # the better of the two rows
    # the helper gives both runs the same test scores (seed 1): no difference, so both are in the best set
    assert md_line(markdown, "ERM [train.epochs=3]")[0].startswith("**61.50 [")


@pytest.mark.slow
def test_cli_table_and_plot_read_and_write_under_the_results_root(root: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from ltbench.cli import main

    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("LTBENCH_RESULTS", str(root.parent))
    assert main(["table", "--reference", "none"]) == 0 and main(["plot"]) == 0
    assert (root.parent / "tables" / "runs.md").is_file() and (root.parent / "plots" / "runs_curves.png").is_file()
    assert list(elsewhere.iterdir()) == []  # nothing under ./results of the working directory


def test_an_undefined_group_map_is_null_on_disk_and_nan_when_read(tmp_path: Path) -> None:
    from ltbench.runs.run_dir import read_run

    run = make_run(tmp_path, "r", "mnist_lt", "erm", 1, (30.0, float("nan"), 35.0, 28.0))
    assert json.loads((run / "metrics.json").read_text())["map"]["head"] is None  # strict JSON: no bare NaN
    assert np.isnan(read_run(run).metrics["map"]["head"])


def test_run_configs_read_back_as_pyyaml_reads_them(tmp_path: Path) -> None:
    from ltbench.config.layering import dump_yaml
    from ltbench.config.resolve import resolve_config
    from ltbench.fileio.atomic import load_yaml_text

    text = dump_yaml({**resolve_config("cprfl", "voc_lt"), "odd": [1.0e-4, None, "a: b", -0.0, 1e400, "2024-01-01"]})
    assert load_yaml_text(text) == yaml.safe_load(text)


def test_oracle_column_only_on_request_and_apart_from_the_result(root: Path) -> None:
    seed_1 = RunDir(root / "voc_lt" / "asl_s1")
    seed_1.write_history([{**row, "test_map": 80.0} if row["epoch"] == 2 else row  # seed 1 peaked before its end
                          for row in seed_1.history()])
    plain = build_table(collect_runs(root))
    assert ORACLE_LABEL not in render_markdown(plain) and "test_selected_mean" not in render_csv(plain)
    table = build_table(collect_runs(root), oracle=True)
    cell = row(table, "voc_lt", "ASL")
    assert cell["total_mean"] == pytest.approx(76.25)  # the reported number is the final model's
    assert (cell["test_selected_mean"], cell["test_selected_std"]) == pytest.approx((78.75, np.std([80.0, 77.5],
                                                                                                   ddof=1)))
    markdown = render_markdown(table)
    header = markdown.splitlines()[0]
    assert f"VOC-LT {ORACLE_LABEL}" in header and f"COCO-LT {ORACLE_LABEL}" in header
    assert md_line(markdown, "ASL")[5] == f"78.75 ± {np.std([80.0, 77.5], ddof=1):.2f}"
    rows = {(r["label"], r["dataset"]): r for r in csv.DictReader(io.StringIO(render_csv(table)))}
    assert float(rows[("ASL", "voc_lt")]["test_selected_mean"]) == pytest.approx(78.75)
    assert float(rows[("ASL", "voc_lt")]["total_mean"]) == pytest.approx(76.25)
    assert r"\multicolumn{6}{c}{VOC-LT}" in render_latex(table)  # total, head, medium, tail, n, test-selected
    console = Console(record=True, width=250)
    console.print(render_rich(table))
    assert "not a valid result" in console.export_text()
