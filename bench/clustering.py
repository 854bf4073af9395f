"""Benchmark comment clustering: quality on the labelled sample, speed on 100,000 comments.

    python bench/clustering.py            # sample + 100,000 comments
    python bench/clustering.py --n 20000  # a smaller speed run

Precision and recall are pairwise: over all pairs of comments, a pair is "predicted" when both
are in one cluster and "true" when both carry one campaign label. Peak memory is the Python
process's max RSS (input included); `--tracemalloc` adds the Python heap peak as tracemalloc
sees it (numpy buffers included), in a second run, since tracing slows clustering ~10 times.
"""

from __future__ import annotations

import argparse
import csv
import platform
import resource
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from make_clustering_sample import OUT as SAMPLE  # noqa: E402
from make_clustering_sample import TEMPLATES, generate  # noqa: E402

from portal.moderation.clustering import cluster  # noqa: E402


def pairwise_scores(labels: dict[str, str], clusters) -> tuple[float, float]:
    """Pairwise precision and recall of clusters against true labels."""
    predicted = {comment_id: n for n, cl in enumerate(clusters) for comment_id in cl.ids}
    true_pairs = sum(k * (k - 1) // 2 for k in Counter(labels.values()).values())
    found_pairs = sum(cl.size * (cl.size - 1) // 2 for cl in clusters)
    both = Counter(
        (predicted[i], labels[i]) for i in labels if i in predicted
    )  # pairs inside one cluster that also share a label
    correct = sum(k * (k - 1) // 2 for k in both.values())
    precision = correct / found_pairs if found_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    return precision, recall


def read_sample(path: Path = SAMPLE) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def quality(thresholds: list[float]) -> None:
    rows = read_sample()
    labels = {row["id"]: row["label"] for row in rows}
    campaigns = len({label for label in labels.values() if label.startswith("campaign")})
    print(f"sample: {len(rows)} comments, {campaigns} campaigns")
    for threshold in thresholds:
        clusters = cluster(((row["id"], row["text"]) for row in rows), threshold=threshold)
        precision, recall = pairwise_scores(labels, clusters)
        print(
            f"  threshold {threshold:.2f}: precision {precision:.4f}  recall {recall:.4f}  "
            f"clusters {len(clusters)}"
        )


def speed(n: int, trace: bool) -> None:
    campaign_share = 0.7
    per_template = int(n * campaign_share) // len(TEMPLATES)
    distinct = n - per_template * len(TEMPLATES)
    rows = generate(seed=1, distinct=distinct, copies=[per_template] * len(TEMPLATES),
                    check_distinct=False)  # fmt: skip
    items = [(row[0], row[3]) for row in rows]
    chars = sum(len(text) for _, text in items)
    print(f"speed: {len(items)} comments ({per_template} copies x {len(TEMPLATES)} campaigns, "
          f"{distinct} distinct), mean {chars / len(items):.0f} characters")  # fmt: skip
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    clusters = cluster(items, threshold=0.8)
    elapsed = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  clustered in {elapsed:.2f} s; clusters (size >= 2): {len(clusters)}; "
          f"largest: {clusters[0].size if clusters else 0}")  # fmt: skip
    print(f"  process max RSS {rss:.0f} MiB (before clustering {rss_before:.0f} MiB)")
    if trace:
        tracemalloc.start()
        cluster(items, threshold=0.8)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  peak traced memory during clustering {peak / 2**20:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark comment clustering.")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace peak memory")
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}")
    quality([0.6, 0.7, 0.8, 0.9])
    speed(args.n, args.tracemalloc)


if __name__ == "__main__":
    main()
