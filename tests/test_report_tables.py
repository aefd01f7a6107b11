"""The report's tables (detcnn.report.tables) on hand-made summaries: ranking by the headline (lower is better,
NaN last), the best model of a kind, '-' for a missing metric, the per-class split, undefined resamples, and
the markdown and CSV text; and the sentence of a paired difference."""

from __future__ import annotations

import csv
import io

from detcnn.kinds import ModelKind
from detcnn.report.paired import sentence
from detcnn.report.tables import best_of_kind, comparison_rows, csv_table, markdown_table, ranked
from tests.report_inputs import metric, summary

HEADLINE = ("auc", True)
CNN = {"auc": metric(0.81, 0.012), "rej_at_0.3": metric(None, 3.5, n_nonfinite=3), "auc_quark": metric(0.8, 0.01)}
SUMMARIES = [
    summary("resnet", "network", {"auc": metric(None, None), "rej_at_0.3": metric(10.0, 1.0)}, n_parameters=2000),
    summary("cnn", "network", CNN, n_parameters=100, train_seconds_per_epoch=2.5, inference_images_per_s=12345.6),
    summary("cut", "baseline", {"auc": metric(0.75, 0.02)}, n_parameters=1),
]


def test_ranked_by_headline_nan_last_and_lower_is_better() -> None:
    assert [s["model"] for s in ranked(SUMMARIES, HEADLINE)] == ["cnn", "cut", "resnet"]
    widths = [summary(m, "network", {"resolution": metric(v, 0.01)}) for m, v in (("a", 0.2), ("b", None), ("c", 0.1))]
    assert [s["model"] for s in ranked(widths, ("resolution", False))] == ["c", "a", "b"]
    assert [s["model"] for s in ranked(widths, ("resolution", True))] == ["a", "c", "b"]


def test_best_of_kind() -> None:
    assert best_of_kind(SUMMARIES, ModelKind.NETWORK, HEADLINE) == "cnn"
    assert best_of_kind(SUMMARIES, ModelKind.BASELINE, HEADLINE) == "cut"
    assert best_of_kind(SUMMARIES[:2], ModelKind.BASELINE, HEADLINE) is None


def test_comparison_rows_main_table() -> None:
    rows = comparison_rows(SUMMARIES, HEADLINE, ("auc_",))
    assert [r["model"] for r in rows] == ["cnn", "cut", "resnet"]
    assert list(rows[0]) == ["model", "kind", "parameters", "auc", "1/eps_b at eps_s=0.3", "train s/epoch",
                             "inference images/s"]  # fmt: skip
    cnn, cut, resnet = rows
    assert cnn == {"model": "cnn", "kind": "network", "parameters": "100", "auc": "0.8100 ± 0.0120",
                   "1/eps_b at eps_s=0.3": "inf ± 3.50 (3 of 20 resamples undefined)", "train s/epoch": "2.5",
                   "inference images/s": "12,346"}  # fmt: skip
    assert cut["1/eps_b at eps_s=0.3"] == "-" and cut["train s/epoch"] == "-" and cut["auc"] == "0.7500 ± 0.0200"
    assert resnet["auc"] == "n/a ± n/a" and resnet["1/eps_b at eps_s=0.3"] == "10.00 ± 1.00"


def test_comparison_rows_per_class_table() -> None:
    assert comparison_rows(SUMMARIES, HEADLINE, ("auc_",), second=True) == [
        {"model": "cnn", "auc_quark": "0.8000 ± 0.0100"}
    ]
    assert comparison_rows(SUMMARIES, HEADLINE, (), second=True) == []


def test_metrics_without_undefined_resamples_print_as_before() -> None:
    old = summary("old", "network", {"auc": {"value": 0.5, "err": 0.25, "n_bootstrap": 20}})  # before n_nonfinite
    new = summary("new", "network", {"auc": metric(0.5, 0.25, n_nonfinite=0)})
    assert [r["auc"] for r in comparison_rows([old, new], HEADLINE)] == ["0.5000 ± 0.2500"] * 2


def test_markdown_table() -> None:
    rows = [{"model": "a", "auc": "0.9 ± 0.1"}, {"model": "b", "auc": "-"}]
    assert markdown_table(rows) == "| model | auc |\n|---|---|\n| a | 0.9 ± 0.1 |\n| b | - |\n"


def test_csv_table_holds_numbers() -> None:
    table = list(csv.DictReader(io.StringIO(csv_table(SUMMARIES, HEADLINE))))
    assert [r["model"] for r in table] == ["cnn", "cut", "resnet"]
    assert list(table[0]) == ["model", "kind", "parameters", "test/auc", "test/auc_err", "test/rej_at_0.3",
                              "test/rej_at_0.3_err", "test/auc_quark", "test/auc_quark_err"]  # fmt: skip
    assert (table[0]["test/auc"], table[0]["test/auc_err"], table[0]["parameters"]) == ("0.81", "0.012", "100")
    assert table[0]["test/rej_at_0.3"] == "" and table[0]["test/rej_at_0.3_err"] == "3.5"  # inf: a JSON null
    assert table[1]["test/rej_at_0.3"] == "" and table[1]["test/auc_quark"] == ""  # the cut has neither
    assert table[2]["kind"] == "network" and table[2]["test/auc"] == ""


def test_sentence_says_how_many_resamples_were_undefined() -> None:
    d = {"value": 0.0404, "err": 0.0039, "significance": 10.36, "n_bootstrap": 200, "n_nonfinite": 0}
    plain = sentence("AUC", "net", "cut", d)
    assert plain == ("\nAUC: **net** minus **cut** = +0.0404 ± 0.0039 (paired bootstrap, the same resampled test "
                     "events for both), i.e. 10.4 standard deviations.\n")  # fmt: skip
    undefined = sentence("AUC", "net", "cut", {**d, "n_nonfinite": 3})
    assert "= +0.0404 ± 0.0039 (3 of 200 resamples undefined) (paired" in undefined
