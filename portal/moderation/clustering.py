"""Group near-duplicate comments (mass campaigns) into clusters.

A campaign sends thousands of copies of one text, often lightly edited: case, punctuation,
extra words, typos, Latin letters in Cyrillic words. `cluster()` finds them so a moderator can
act on a whole cluster and the draft's page can show one position with its count.

Steps:

1. Normalise: NFKC, case-fold, map Cyrillic/Latin look-alike letters to one form, turn
   punctuation and underscores into spaces, collapse whitespace. Used only for comparing.
2. Texts equal after normalising are joined at once (the common case in a campaign).
3. Each remaining distinct text becomes its set of character 4-grams (shingles). Character
   shingles survive typos better than word shingles: a typo breaks at most 4 of them.
4. MinHash signatures (64 hash functions) computed with numpy over all texts at once, then LSH
   banding picks candidate pairs whose signatures agree on a whole band.
5. A candidate is joined only if the exact Jaccard similarity of the shingle sets is at least
   `threshold`. Inside a bucket each text is checked against at most a few "anchor" texts, not
   every other member, so a 5,000-copy bucket costs 5,000 checks, not 12 million.
6. Union-find merges the verified pairs; a cluster is a connected component (single linkage:
   A~B and B~C put A and C together even if A and C differ more).

Deterministic: fixed seeds, no use of Python's randomised `hash()`, stable sorts. Pure: no Flask,
no database; ids are opaque hashable values chosen by the caller. numpy is used instead of a
MinHash library (e.g. datasketch) because signatures for 100,000 texts must be computed in one
vectorised pass; per-text objects would be several times slower and bring scipy along.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["Cluster", "cluster", "jaccard", "normalise", "shingles"]

SHINGLE_SIZE = 4
NUM_PERM = 64
MAX_ANCHORS = 8  # texts per LSH bucket that others are compared with
MAX_CHECKS = 2  # exact Jaccard checks per text and bucket
_SEED = 20_240_301
_CHUNK_DOCS = 20_000  # texts hashed per numpy pass, to bound memory

# Look-alike letters, after case-folding, mapped to one Latin form. Only for comparison.
_HOMOGLYPH_MAP = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "к": "k", "м": "m", "н": "h",
        "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "ү": "y", "х": "x", "і": "i",
        "ı": "i", "ј": "j", "ѕ": "s", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    }
)  # fmt: skip
# The same as a string indexed by code point: str.translate is about twice as fast with it than
# with a dict; characters past its end raise IndexError and are left as they are.
_HOMOGLYPHS = "".join(
    _HOMOGLYPH_MAP.get(code, chr(code)) for code in range(max(_HOMOGLYPH_MAP) + 1)
)
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Cluster:
    """Near-duplicate comments: ids in input order and the id of the most typical text."""

    ids: tuple[Hashable, ...]
    representative_id: Hashable
    size: int


def normalise(text: str) -> str:
    """The comparison form of a text: case, punctuation, spacing and look-alikes removed."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_HOMOGLYPHS)
    return _NOT_WORD.sub(" ", text).strip()


def shingles(normalised: str, size: int = SHINGLE_SIZE) -> set[str]:
    """Character n-grams of a normalised text, padded so a short text still has one."""
    padded = f" {normalised} ".ljust(size)
    return {padded[i : i + size] for i in range(len(padded) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """|A ∩ B| / |A ∪ B|; 1.0 for two empty sets."""
    if not a and not b:
        return 1.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def cluster(
    items: Iterable[tuple[Hashable, str]], threshold: float = 0.8, min_size: int = 2
) -> list[Cluster]:
    """Cluster (id, text) pairs; return clusters of at least `min_size` comments.

    With min_size=2 (default) singletons are left out; min_size=1 returns every comment.
    Clusters are sorted by size (largest first), then by the position of their first comment.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    ids, texts = _unzip(items)
    # Millions of short-lived sets and lists, none cyclic: the cyclic GC would only rescan the
    # growing heap again and again (that made 100,000 comments take 5 times longer).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        norms = [normalise(text) for text in texts]
        forest = _UnionFind(len(ids))
        unique = _join_exact_copies(norms, forest)
        _join_near_copies([norms[i] for i in unique], unique, threshold, forest)
        return _clusters(ids, norms, forest, min_size)
    finally:
        if gc_was_enabled:
            gc.enable()


def _unzip(items: Iterable[tuple[Hashable, str]]) -> tuple[list[Hashable], list[str]]:
    ids, texts = [], []
    for comment_id, text in items:
        ids.append(comment_id)
        texts.append(text)
    if len(set(ids)) != len(ids):
        raise ValueError("comment ids must be unique")
    return ids, texts


def _join_exact_copies(norms: list[str], forest: _UnionFind) -> list[int]:
    """Join texts equal after normalising; return the index of the first of each text."""
    first: dict[str, int] = {}
    for index, norm in enumerate(norms):
        if norm in first:
            forest.union(first[norm], index)
        else:
            first[norm] = index
    return list(first.values())


def _join_near_copies(
    norms: list[str], positions: list[int], threshold: float, forest: _UnionFind
) -> None:
    """LSH candidates among distinct texts, verified by exact Jaccard, joined in `forest`."""
    if len(norms) < 2:
        return
    signatures = _signatures(norms)
    rows = _rows_per_band(threshold)
    checker = _Checker(norms, signatures, threshold)
    for band in range(NUM_PERM // rows):
        keys = _band_keys(signatures[:, band * rows : (band + 1) * rows])
        for bucket in _buckets(keys):
            _join_bucket(bucket, positions, checker, forest)


def _rows_per_band(threshold: float) -> int:
    """Most rows per band that still make a pair at `threshold` a candidate 98% of the time."""
    for rows in range(8, 0, -1):
        bands = NUM_PERM // rows
        if 1 - (1 - threshold**rows) ** bands >= 0.98:
            return rows
    return 1


def _join_bucket(
    bucket: list[int], positions: list[int], checker: _Checker, forest: _UnionFind
) -> None:
    """Check each bucket member against a few anchors; an unmatched member may become one."""
    anchors: list[int] = []
    anchor_roots: set[int] = set()
    for member in bucket:
        if forest.find(positions[member]) in anchor_roots:
            continue  # already joined to an anchor's cluster, maybe in an earlier band
        match = checker.first_similar(member, anchors)
        if match is not None:
            forest.union(positions[match], positions[member])
        elif len(anchors) < MAX_ANCHORS:
            anchors.append(member)
        # Roots change after a union; recompute for the few anchors.
        anchor_roots = {forest.find(positions[a]) for a in anchors}


class _Checker:
    """Verify candidate pairs: a MinHash estimate screens, exact Jaccard decides."""

    # An estimate from 64 hashes has a standard error of about 0.05; this margin keeps
    # nearly every true pair while skipping most exact checks of dissimilar texts.
    SCREEN_MARGIN = 0.15

    def __init__(self, norms: list[str], signatures: np.ndarray, threshold: float):
        self._norms = norms
        self._signatures = signatures
        self._threshold = threshold
        self._cache: dict[int, set[str]] = {}
        self._refuted: set[tuple[int, int]] = set()  # pairs already found dissimilar

    def first_similar(self, member: int, anchors: list[int]) -> int | None:
        """The first anchor (most similar first) whose Jaccard with `member` is high enough."""
        if not anchors:
            return None
        estimates = (self._signatures[anchors] == self._signatures[member]).mean(axis=1)
        member_set = None
        # The best-estimated anchors are the likely matches; if they fail, the rest rarely pass.
        for k in np.argsort(-estimates, kind="stable")[:MAX_CHECKS]:
            if estimates[k] < self._threshold - self.SCREEN_MARGIN:
                break
            anchor = anchors[k]
            if (anchor, member) in self._refuted:
                continue  # the same pair meets again in another band
            member_set = member_set or shingles(self._norms[member])
            if self._similar(self._anchor_set(anchor), member_set):
                return anchor
            self._refuted.add((anchor, member))
        return None

    def _anchor_set(self, anchor: int) -> set[str]:
        if anchor not in self._cache:
            self._cache[anchor] = shingles(self._norms[anchor])
        return self._cache[anchor]

    def _similar(self, a: set[str], b: set[str]) -> bool:
        # Sizes alone can rule a pair out: J <= min/max.
        if min(len(a), len(b)) < self._threshold * max(len(a), len(b)):
            return False
        return jaccard(a, b) >= self._threshold


def _signatures(norms: list[str]) -> np.ndarray:
    """MinHash signatures, shape (len(norms), NUM_PERM), uint64."""
    rng = np.random.default_rng(_SEED)
    mult = rng.integers(1, 2**63, NUM_PERM, dtype=np.uint64) | np.uint64(1)  # odd: bijective
    add = rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64)
    parts = [
        _chunk_signatures(norms[start : start + _CHUNK_DOCS], mult, add)
        for start in range(0, len(norms), _CHUNK_DOCS)
    ]
    return np.concatenate(parts)


def _chunk_signatures(norms: list[str], mult: np.ndarray, add: np.ndarray) -> np.ndarray:
    hashes, starts = _shingle_hashes(norms)
    signature = np.empty((len(norms), NUM_PERM), dtype=np.uint64)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps on purpose
        for perm in range(NUM_PERM):
            signature[:, perm] = np.minimum.reduceat(hashes * mult[perm] + add[perm], starts)
    return signature


def _shingle_hashes(norms: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hash every character n-gram of every text in one pass.

    Returns the hashes in text order and the index where each text's hashes start. Texts are
    padded as in `shingles()` so each has at least one n-gram.
    """
    padded = [f" {norm} ".ljust(SHINGLE_SIZE) for norm in norms]
    lengths = np.fromiter((len(p) for p in padded), dtype=np.int64, count=len(padded))
    # One string, each text followed by a NUL that no window may cross.
    joined = "\0".join(padded) + "\0"
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    window = _rolling_hash(codes)
    ends = np.cumsum(lengths + 1) - 1  # position of each text's NUL
    text_of = np.repeat(np.arange(len(padded)), lengths + 1)[: len(window)]
    valid = np.arange(len(window)) + SHINGLE_SIZE - 1 < ends[text_of]
    counts = lengths - SHINGLE_SIZE + 1
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return _mix(window[valid]), starts


def _rolling_hash(codes: np.ndarray) -> np.ndarray:
    """Polynomial hash of each window of SHINGLE_SIZE code points (wrapping uint64)."""
    base = np.uint64(1_000_003)
    count = len(codes) - SHINGLE_SIZE + 1
    result = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(SHINGLE_SIZE):
            result = result * base + codes[offset : offset + count]
    return result


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the bits so multiply-add permutations behave."""
    with np.errstate(over="ignore"):
        values = values ^ (values >> np.uint64(30))
        values = values * np.uint64(0xBF58476D1CE4E5B9)
        values = values ^ (values >> np.uint64(27))
        values = values * np.uint64(0x94D049BB133111EB)
        return values ^ (values >> np.uint64(31))


def _band_keys(band: np.ndarray) -> np.ndarray:
    """One uint64 key per text for a band of signature rows."""
    with np.errstate(over="ignore"):
        key = np.zeros(len(band), dtype=np.uint64)
        for column in range(band.shape[1]):
            key = _mix(key ^ band[:, column])
    return key


def _buckets(keys: np.ndarray) -> list[list[int]]:
    """Indexes sharing a key, in input order, for keys held by two texts or more."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    boundaries = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    groups = np.split(order, boundaries)
    return [group.tolist() for group in groups if len(group) > 1]


def _clusters(
    ids: list[Hashable], norms: list[str], forest: _UnionFind, min_size: int
) -> list[Cluster]:
    members: dict[int, list[int]] = {}
    for index in range(len(ids)):
        members.setdefault(forest.find(index), []).append(index)
    result = [
        Cluster(tuple(ids[i] for i in group), ids[_representative(group, norms)], len(group))
        for group in members.values()
        if len(group) >= min_size
    ]
    first = {cl.ids[0]: n for n, cl in enumerate(result)}
    return sorted(result, key=lambda cl: (-cl.size, first[cl.ids[0]]))


def _representative(group: list[int], norms: list[str]) -> int:
    """The earliest comment with the most frequent normalised text: usually the template."""
    counts = Counter(norms[i] for i in group)
    top = max(counts.values())
    return next(i for i in group if counts[norms[i]] == top)


class _UnionFind:
    """Disjoint sets over 0..n-1; the smaller index is the root, so results are stable."""

    def __init__(self, size: int):
        self._parent = list(range(size))

    def find(self, item: int) -> int:
        parent = self._parent
        root = item
        while parent[root] != root:
            root = parent[root]
        while parent[item] != root:  # path compression
            parent[item], item = root, parent[item]
        return root

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            low, high = sorted((root_a, root_b))
            self._parent[high] = low
