"""The pure hash chain of the audit log: canonical JSON and SHA-256, no Flask, no database.

Each entry's hash is SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of its
fields together with the previous entry's hash, so changing, removing or reordering any
entry changes every hash after it. The first entry's previous hash is GENESIS.
"""

import hashlib
import json

GENESIS = "0" * 64
FIELDS = ("id", "at", "actor_id", "actor", "action", "target", "region_code", "details")


def canonical(value):
    """The one byte string a JSON-able value hashes to."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(fields, prev_hash):
    """SHA-256 hex of the entry's fields (a dict with FIELDS) chained to prev_hash."""
    payload = {name: fields[name] for name in FIELDS}
    payload["prev"] = prev_hash
    return hashlib.sha256(canonical(payload)).hexdigest()


def first_break(entries):
    """The first entry (in id order) whose chain is broken, with the reason; None when intact.

    `entries` yields dicts with FIELDS plus `prev_hash` and `hash`.
    """
    prev, expected_id = GENESIS, None
    for entry in entries:
        if expected_id is not None and entry["id"] != expected_id:
            return entry, f"entry {expected_id} is missing"
        if entry["prev_hash"] != prev:
            return entry, "its previous hash does not match the entry before it"
        if entry_hash(entry, prev) != entry["hash"]:
            return entry, "its content does not match its hash"
        prev, expected_id = entry["hash"], entry["id"] + 1
    return None
