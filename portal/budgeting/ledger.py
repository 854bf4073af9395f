"""The public ballot ledger's pure core: an append-only Merkle tree in the style of
RFC 6962 / RFC 9162 (Certificate Transparency). No Flask, no database.

leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || left || right). A tree of n
leaves splits at the largest power of two below n, which is the same as pairing neighbours
level by level and carrying a lone last node up unchanged: that is how `root` and `path`
compute it. `Frontier` keeps only the roots of the perfect subtrees a tree of n leaves
decomposes into (at most log2 n hashes), so appending costs O(log n) and the current root
is always at hand.
"""

import hashlib
import json

ALGORITHM = "RFC6962-SHA256"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_data(cycle_id, ballot_id, version, choices):
    """The public bytes a ballot's leaf commits to: no voter, just the cycle, the ballot
    number, which version of that ballot (a replaced ballot appends version 2, 3, …) and the
    sorted project ids."""
    body = {"cycle": cycle_id, "ballot": ballot_id, "v": version, "choices": sorted(choices)}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(hashes):
    """The root of the tree over these leaf hashes (or subtree roots of equal, aligned size)."""
    level = list(hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def path(index, hashes):
    """The audit path (sibling hashes, bottom up) proving leaf `index` is in the tree."""
    if not 0 <= index < len(hashes):
        raise IndexError("leaf index outside the tree")
    level, proof = list(hashes), []
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level, index = paired, index // 2
    return proof


def verify_path(index, size, leaf, proof, expected_root):
    """RFC 9162 section 2.1.3.2: does `proof` link `leaf` at `index` to `expected_root`?"""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == expected_root


class Frontier:
    """Roots of the perfect subtrees of the tree so far, largest (leftmost) first.

    `subtrees` is a list of (height, hash); the sizes are the binary digits of `size`.
    """

    def __init__(self, size=0, subtrees=()):
        self.size = size
        self.subtrees = list(subtrees)

    def append(self, leaf):
        """Add a leaf hash; merge equal-height neighbours like carrying in binary addition."""
        height, node = 0, leaf
        while self.subtrees and self.subtrees[-1][0] == height:
            _, left = self.subtrees.pop()
            node, height = node_hash(left, node), height + 1
        self.subtrees.append((height, node))
        self.size += 1

    def root(self):
        if not self.subtrees:
            return EMPTY_ROOT
        node = self.subtrees[-1][1]
        for _, left in reversed(self.subtrees[:-1]):
            node = node_hash(left, node)
        return node

    def dump(self):
        return [[h, node.hex()] for h, node in self.subtrees]

    @classmethod
    def load(cls, size, dumped):
        return cls(size, [(h, bytes.fromhex(node)) for h, node in dumped or ()])
