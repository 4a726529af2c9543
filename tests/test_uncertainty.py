"""Intervals, paired differences, the best set, styles, smoke labels and results that travel, checked by hand,
against scipy, or against the evaluator on explicitly resampled test sets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import bootstrap

import ltbench
from ltbench.cli import main
from ltbench.evaluation import average_precision, evaluate
from ltbench.reports import build_table, collect_runs, find_manifests, render_csv, render_markdown
from ltbench.reports.bootstrap import BATCH, ResampledAP, RunSample, bootstrap_runs
from ltbench.reports.reference import METRICS
from ltbench.reports.styles import style
from ltbench.reports.uncertainty import RowSample, difference, row_intervals
from ltbench.runs.run_dir import write_scores
from ltbench.launch.suites import Manifest, Suite, SuiteRow
from run_dirs import GROUPS, make_run

N_TEST = 300


def targets() -> np.ndarray:
    """A fixed 300 x 5 test set, every class with positives."""
    found = (np.random.default_rng(0).random((N_TEST, 5)) < np.array([0.4, 0.3, 0.2, 0.15, 0.1])).astype(np.uint8)
    found[:5] |= np.eye(5, dtype=np.uint8)
    return found


def scores(noise: float, seed: int) -> np.ndarray:
    """Scores that rank the positives better the smaller ``noise`` is."""
    return targets() + np.random.default_rng(seed).normal(0, noise, (N_TEST, 5))


def sample(noise: float, seed: int) -> RunSample:
    return RunSample(scores(noise, seed).astype(np.float32), targets(), GROUPS)


def maps_of(values: np.ndarray) -> tuple[tuple[float, ...], list[float]]:
    result = evaluate(values, targets(), {g: np.array(GROUPS[g]) for g in GROUPS})
    return tuple(result[m] for m in METRICS), result["per_class_ap"]


def scored_run(root: Path, name: str, seed: int, noise: float, label: str, draw: int = 0,
               **kwargs) -> Path:  # noqa: ANN003
    """A run directory whose metrics are the evaluator's on its written test scores (noise drawn by seed + draw)."""
    values = scores(noise, seed + draw)
    maps, per_class = maps_of(values)
    run = make_run(root, name, "mnist_lt", "erm", seed, maps, label=label, per_class_ap=per_class,
                   config={"train": {"noise": noise}}, **kwargs)
    write_scores(run / "scores.npz", values, targets())
    return run


def row_of(samples: dict[str, RunSample], seeds: tuple[int, ...] = (1,)) -> RowSample:
    """One row of the given runs, bootstrapped with nothing else (on the same resamples as any other call)."""
    replicates = bootstrap_runs(dict(zip(map(Path, samples), samples.values())))
    points = np.array([maps_of(s.scores)[0] for s in samples.values()])
    return RowSample(seeds, points, np.stack(list(replicates.values.values())), replicates.test_set)


def test_resampled_ap_equals_the_evaluator_on_the_repeated_images() -> None:
    rng = np.random.default_rng(3)
    values = np.round(rng.normal(size=(40, 4)), 1)  # rounded: many tied scores
    labels = rng.random((40, 4)) < 0.3
    labels[:, 3] = False  # a class without positives: NaN on every resample
    draws = rng.integers(0, 40, (6, 40))
    counts = np.stack([np.bincount(d, minlength=40) for d in draws]).T.astype(np.float32)
    expected = np.stack([average_precision(values[d], labels[d]) for d in draws]).T
    np.testing.assert_allclose(ResampledAP(values, labels)(counts), expected, atol=1e-6)


def test_a_runs_interval_is_scipys_percentile_interval_of_its_map() -> None:
    run = sample(1.0, 1)

    def total_map(index: np.ndarray) -> float:
        return evaluate(run.scores[index], run.targets[index], {})["total"]

    ours = bootstrap_runs({Path("a"): run}, resamples=200)
    theirs = bootstrap((np.arange(N_TEST),), total_map, vectorized=False, n_resamples=200, batch=BATCH,
                       method="percentile", rng=np.random.default_rng(0))
    np.testing.assert_allclose(ours.values[Path("a")][0], theirs.bootstrap_distribution, atol=1e-4)
    low, high = ours.low[Path("a")][0], ours.high[Path("a")][0]
    assert (low, high) == pytest.approx((theirs.confidence_interval.low, theirs.confidence_interval.high), abs=1e-4)


def test_the_row_interval_over_seeds_by_hand() -> None:
    # no test-image noise: seeds at 40 and 44 resample to means 40, 42, 44 with chances 1/4, 1/2, 1/4,
    # so the 2.5th and 97.5th percentiles are 40 and 44
    replicates = np.zeros((2, len(METRICS), 2000))
    replicates[0], replicates[1] = 40.0, 44.0
    row = RowSample((1, 2), np.array([[40.0] * 4, [44.0] * 4]), replicates)
    np.testing.assert_allclose(row_intervals(row), [[40.0, 44.0]] * len(METRICS))


def test_two_identical_runs_differ_by_zero_with_even_odds() -> None:
    a, b = row_of({"a": sample(1.0, 1)}), row_of({"b": sample(1.0, 1)})
    for metric in range(len(METRICS)):
        found = difference(a, b, metric)
        assert found.delta == 0.0 and found.interval.contains(0.0) and found.improvement == 0.5


def test_a_real_gap_is_significant_and_a_gap_inside_the_noise_is_not() -> None:
    runs = {"a": sample(1.0, 1), "better": sample(0.5, 2), "same": sample(1.0, 3)}
    paired = bootstrap_runs({Path(k): v for k, v in runs.items()}, resamples=400)

    def row(name: str) -> RowSample:
        return RowSample((1,), np.array([maps_of(runs[name].scores)[0]]), paired.values[Path(name)][None],
                         paired.test_set)

    gap = difference(row("a"), row("better"), 0)
    assert gap.delta > 10 and gap.significant and gap.interval.low > 0 and gap.improvement > 0.99
    noise = difference(row("a"), row("same"), 0)
    assert noise.delta != 0 and not noise.significant and 0.05 < noise.improvement < 0.95  # another draw, same skill


def test_the_best_set_is_the_rows_not_significantly_worse_than_the_top(tmp_path: Path) -> None:
    for seed in (1, 2):
        scored_run(tmp_path, f"top_s{seed}", seed, 0.5, "Top")
        scored_run(tmp_path, f"near_s{seed}", seed, 0.5, "Near", draw=10)  # same skill, other noise
        scored_run(tmp_path, f"far_s{seed}", seed, 1.2, "Far", draw=20)
        scored_run(tmp_path, f"smoke_s{seed}", seed, 0.1, "Smoke", draw=30, provenance={"backbone": "x: random init"})
    collection = collect_runs(tmp_path)
    table = build_table(collection).set_index("label")
    samples = {label: row_of({f"{label}{s}": RunSample(*_read(tmp_path, f"{label.lower()}_s{s}"), GROUPS)
                              for s in (1, 2)}, (1, 2)) for label in ("Top", "Near", "Far")}
    for metric_index, metric in enumerate(METRICS):
        means = table.loc[["Top", "Near", "Far"], f"{metric}_mean"]
        top = means.idxmax()
        rule = {label for label in means.index
                if label == top or difference(samples[top], samples[label], metric_index).interval.high >= 0}
        assert set(table.index[table[f"{metric}_best"]]) == rule
    assert set(table.index[table["total_best"]]) == {"Top", "Near"}  # Far is far down, outside the noise
    assert not table.loc["Smoke", [f"{m}_best" for m in METRICS]].any()  # best mean, but a smoke run never is
    markdown = render_markdown(build_table(collection))
    assert "| Smoke †" in markdown and "† random weights: a smoke run, not the method's published setting" in markdown


def _read(root: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    with np.load(root / name / "scores.npz") as data:
        return data["scores"], data["targets"]


def test_a_smoke_run_and_a_real_run_of_one_label_are_never_averaged(tmp_path: Path) -> None:
    scored_run(tmp_path, "real", 1, 0.5, "CoOp")
    scored_run(tmp_path, "smoke", 1, 0.5, "CoOp", provenance={"backbone": "clip_vit_b16: random init (model.config)"})
    table = build_table(collect_runs(tmp_path))
    assert list(table["n"]) == [1, 1] and list(table["smoke"]) == [False, True]
    assert list(table["label"]) == ["CoOp", "CoOp [random weights]"]


def test_25_methods_get_25_distinct_styles() -> None:
    looks = [(style(i)["color"], style(i)["marker"]) for i in range(25)]
    assert len(set(looks)) == 25
    assert len({look[0] for look in looks[:10]}) == 10  # the first ten differ in colour alone
    with pytest.raises(ValueError, match="At most 80 rows"):
        style(80)


@pytest.mark.slow
def test_the_zsclip_smoke_run_says_its_weights_are_random(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--method", "zsclip", "--dataset", "mnist_lt", f"output.root={tmp_path}", "dataset.max_count=40",
            "dataset.num_test=60"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "random weights: a smoke run, not zsclip's published setting" in out
    (metrics_file,) = tmp_path.rglob("metrics.json")
    assert json.loads(metrics_file.read_text())["smoke"] is True
    assert main(argv) == 0 and "random weights" in capsys.readouterr().out  # also when it is already finished


def test_a_copied_results_folder_gives_the_same_table_from_anywhere(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "results"
    monkeypatch.setenv("LTBENCH_RESULTS", str(results))
    suite = Suite("demo", "", [SuiteRow("Top", "erm"), SuiteRow("Far", "erm")])
    manifest = Manifest(suite, "mnist_lt")
    for seed in (1, 2):
        for label, noise in (("Top", 0.5), ("Far", 1.2)):
            run = scored_run(results / "runs" / "mnist_lt", f"{label.lower()}_s{seed}_0123abcd", seed, noise, label,
                             draw=10 * (label == "Far"))
            manifest.record(suite.rows[label == "Far"], seed, run)
    entries = json.loads(manifest.path.read_text())["rows"][0]["run_dirs"]
    assert entries == ["runs/mnist_lt/top_s1_0123abcd", "runs/mnist_lt/top_s2_0123abcd"]  # run ids, not paths
    original = render_csv(build_table(collect_runs(manifests=find_manifests("demo"))))
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(results, moved)
    shutil.rmtree(results)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LTBENCH_RESULTS", str(moved))
    assert main(["table", "--suite", "demo", "--reference", "none"]) == 0
    assert (moved / "tables" / "demo.csv").read_text() == original
    frame = ltbench.table("demo", reference="none")  # the notebook's view: the same table as a DataFrame
    assert list(frame["label"]) == ["Top", "Far"] and frame["total_best"].tolist() == [True, False]


def test_an_old_manifest_naming_runs_from_the_suites_folder_still_reads(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "archive"
    shutil.copytree(Path(__file__).parents[1] / "results" / "mnist_lt" / "suites", copy / "suites")
    # a manifest written before run ids named each run by its path from the repository root
    manifest = copy / "suites" / "table2_mnist_lt.json"
    data = json.loads(manifest.read_text())
    data["rows"] = data["rows"][:1]
    data["rows"][0]["run_dirs"] = ["results/mnist_lt/" + data["rows"][0]["run_dirs"][0]]
    manifest.write_text(json.dumps(data))
    first = data["rows"][0]["run_dirs"][0]
    run = Path(__file__).parents[1] / first
    shutil.copytree(run, copy / "runs" / "mnist_lt" / run.name)
    monkeypatch.chdir(tmp_path)
    collection = collect_runs(manifests=[copy / "suites" / "table2_mnist_lt.json"])
    assert [r.path for runs in collection.rows.values() for r in runs] == [copy / "runs" / "mnist_lt" / run.name]
