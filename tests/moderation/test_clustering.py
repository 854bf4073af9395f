"""Tests of near-duplicate clustering: normalising, clusters, determinism, labelled quality."""

import csv
import subprocess
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.moderation.clustering import Cluster, cluster, jaccard, normalise, shingles

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "clustering_sample.csv"

TEMPLATE = (
    "Я категорически против повышения тарифов на воду в нашем городе. Люди и так едва "
    "оплачивают коммунальные услуги, а зарплаты не растут."
)
OTHER = "Предлагаю построить новую школу в микрорайоне Самал, потому что классы переполнены."


def test_normalise_removes_case_punctuation_spacing_and_lookalikes():
    assert normalise("  Я ПРОТИВ!!!  тарифов,\nна_воду ") == normalise("я против тарифов на воду")
    # Latin "o", "p", "a", "e" typed inside Russian words.
    assert normalise("Пpoтив тaрифoв нa вoду") == normalise("Против тарифов на воду")
    assert normalise("ＡＢＣ") == normalise("abc")  # full-width letters (NFKC)
    assert normalise("Кандидат") != normalise("Депутат")


def test_shingles_and_jaccard():
    assert shingles("") == {"    "}  # an empty text still has one (blank) shingle
    assert shingles("ab") == {" ab "}
    assert jaccard({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3)
    assert jaccard(set(), set()) == 1.0


def test_light_edits_form_one_cluster_and_distinct_text_stays_out():
    items = [
        ("a", TEMPLATE),
        ("b", TEMPLATE.upper().replace(",", "")),
        ("c", "Полностью согласен. " + TEMPLATE),
        ("d", TEMPLATE.replace("повышения", "повышеня")),  # typo
        ("e", TEMPLATE.replace("о", "o")),  # Latin look-alikes
        ("f", OTHER),
    ]
    assert cluster(items) == [Cluster(("a", "b", "c", "d", "e"), "a", 5)]


def test_min_size_one_returns_singletons_too():
    clusters = cluster([(1, TEMPLATE), (2, TEMPLATE + "!"), (3, OTHER)], min_size=1)
    assert [(c.ids, c.size) for c in clusters] == [((1, 2), 2), ((3,), 1)]


def test_representative_is_the_most_common_text():
    items = [(1, TEMPLATE + " Прошу учесть!"), (2, TEMPLATE), (3, TEMPLATE.lower())]
    assert cluster(items)[0].representative_id == 2


def test_clusters_sorted_by_size_then_first_position():
    items = [(1, OTHER), (2, TEMPLATE), (3, TEMPLATE), (4, OTHER), (5, TEMPLATE)]
    assert [c.ids for c in cluster(items)] == [(2, 3, 5), (1, 4)]


def test_threshold_controls_what_counts_as_near():
    a = "Прошу отремонтировать дорогу на улице Абая возле школы номер пять"
    b = "Прошу отремонтировать дорогу на улице Абая возле школы номер пять и шесть срочно"
    similarity = jaccard(shingles(normalise(a)), shingles(normalise(b)))
    assert 0.6 < similarity < 0.9
    assert cluster([(1, a), (2, b)], threshold=0.6) != []
    assert cluster([(1, a), (2, b)], threshold=0.95) == []


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="ids must be unique"):
        cluster([(1, "a"), (1, "b")])
    with pytest.raises(ValueError, match="threshold"):
        cluster([(1, "a")], threshold=0)
    assert cluster([]) == []


def test_empty_and_punctuation_only_comments_cluster_together():
    assert cluster([(1, ""), (2, "!!!"), (3, "Текст")]) == [Cluster((1, 2), 1, 2)]


@settings(deadline=None, max_examples=40)
@given(st.lists(st.sampled_from([TEMPLATE, OTHER, "Поддерживаю", "Қолдаймын", "Против!"]),
                max_size=30))  # fmt: skip
def test_exact_copies_always_cluster_and_order_does_not_matter(texts):
    items = list(enumerate(texts))
    clusters = cluster(items)
    groups = {frozenset(c.ids) for c in cluster(items)}
    expected = Counter(normalise(t) for t in texts)
    assert sorted(c.size for c in clusters) == sorted(n for n in expected.values() if n > 1)
    assert {frozenset(c.ids) for c in cluster(list(reversed(items)))} == groups


def read_sample():
    with open(SAMPLE, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def pairwise_precision_recall(rows, clusters):
    label = {row["id"]: row["label"] for row in rows}
    predicted = {i: n for n, c in enumerate(clusters) for i in c.ids}
    tp = fp = fn = 0
    for a, b in combinations(label, 2):
        same = label[a] == label[b]
        together = a in predicted and predicted.get(a) == predicted.get(b)
        tp += same and together
        fp += together and not same
        fn += same and not together
    return tp / (tp + fp), tp / (tp + fn)


def test_quality_on_the_labelled_sample():
    rows = read_sample()
    assert len(rows) >= 1000
    clusters = cluster([(row["id"], row["text"]) for row in rows], threshold=0.8)
    precision, recall = pairwise_precision_recall(rows, clusters)
    assert precision >= 0.95, precision
    assert recall >= 0.9, recall


def test_clustering_is_deterministic():
    items = [(row["id"], row["text"]) for row in read_sample()]
    assert cluster(items) == cluster(items)


def test_sample_file_is_what_the_generator_makes(tmp_path):
    out = tmp_path / "sample.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "make_clustering_sample.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == SAMPLE.read_bytes()
