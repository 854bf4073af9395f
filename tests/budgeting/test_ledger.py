"""The pure ledger: RFC 6962 hashing, roots, audit paths and the O(log n) frontier."""

import hashlib

import pytest

from portal.budgeting import ledger


def _mth(leaves):
    """RFC 6962's recursive definition, as written in the RFC (the reference)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return ledger.node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _leaves(n):
    return [ledger.leaf_hash(str(i).encode()) for i in range(n)]


def test_hashes_follow_rfc6962_domain_separation():
    assert ledger.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert ledger.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert ledger.root([]) == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 13, 64, 100])
def test_root_frontier_and_every_path_agree_with_the_rfc(n):
    leaves = _leaves(n)
    expected = _mth(leaves)
    assert ledger.root(leaves) == expected
    frontier = ledger.Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    assert frontier.root() == expected and frontier.size == n
    reloaded = ledger.Frontier.load(n, frontier.dump())
    assert reloaded.root() == expected
    for i in range(n):
        proof = ledger.path(i, leaves)
        assert ledger.verify_path(i, n, leaves[i], proof, expected)
        assert not ledger.verify_path(i, n, ledger.leaf_hash(b"forged"), proof, expected)


def test_a_path_for_a_different_leaf_or_size_fails():
    leaves = _leaves(11)
    root = ledger.root(leaves)
    proof = ledger.path(4, leaves)
    assert not ledger.verify_path(5, 11, leaves[4], proof, root)
    assert not ledger.verify_path(4, 3, leaves[4], proof, root)
    with pytest.raises(IndexError):
        ledger.path(11, leaves)


def test_chunked_roots_compose():
    """Subtree roots of aligned power-of-two chunks combine to the same root (the server
    caches chunk roots so a proof never reads every leaf)."""
    leaves = _leaves(1000)
    chunks = [ledger.root(leaves[i : i + 64]) for i in range(0, 1000, 64)]
    assert ledger.root(chunks) == ledger.root(leaves)


def test_leaf_data_is_canonical_and_names_no_voter():
    data = ledger.leaf_data(3, 17, 2, [9, 4])
    assert data == b'{"ballot":17,"choices":[4,9],"cycle":3,"v":2}'
