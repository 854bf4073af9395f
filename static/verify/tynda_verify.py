#!/usr/bin/env python3
"""Tynda independent verifier: check a participatory-budget count from public data alone.

Needs only Python 3.9+ (standard library). Give it the portal's address and a cycle id:

    python3 tynda_verify.py https://tynda.example.kz 42

or the two files downloaded from the cycle's results page:

    python3 tynda_verify.py --ledger ledger-42.json --verification verification-42.json

It (1) recomputes the ballot ledger's Merkle root (RFC 6962: leaf = SHA-256(0x00 || data),
node = SHA-256(0x01 || left || right)) from every published ledger entry and compares it
with the published head and with the head each published result names; (2) takes each
ballot's last version; (3) recounts the approvals and recomputes the winners with the
cycle's rule (greedy by approvals, or the Method of Equal Shares with cost utilities, with
or without the +1-per-voter budget completion) in exact rational arithmetic, ties going to
the smaller project id string; and prints MATCH or the first difference (exit status 0 / 1).

With --receipt-proof FILE (the JSON of /api/v1/cycles/<id>/ledger/proof?receipt=CODE) it also
checks that your own ballot's entry is in the ledger.

This file is deliberately independent of the portal's code: it shares only the published
formats, so a mistake in one is unlikely to be repeated in the other.
"""

import argparse
import hashlib
import json
import sys
import urllib.request
from fractions import Fraction

ALGORITHM = "RFC6962-SHA256"


# ------------------------------------------------------------------ Merkle tree (RFC 6962)
def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(hashes):
    """MTH over the leaf hashes: split at the largest power of two below n (RFC 6962 2.1)."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(merkle_root(hashes[:k]), merkle_root(hashes[k:]))


def check_inclusion(index, size, leaf, path, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


# ------------------------------------------------------------------ winner rules
def approvals(costs, ballots):
    votes = {p: 0 for p in costs}
    for ballot in ballots:
        for p in ballot:
            if p in votes:
                votes[p] += 1
    return votes


def greedy(costs, ballots, budget):
    """Projects by approvals (most first, ties to the smaller id string); take each that fits."""
    votes = approvals(costs, ballots)
    order = sorted(costs, key=lambda p: (-(votes[p] if costs[p] > 0 else 0), p))
    left, chosen = budget, []
    for p in order:
        if costs[p] <= left:
            chosen.append(p)
            left -= costs[p]
    return chosen


def mes(costs, ballots, budget, extra_per_voter=0):
    """Method of Equal Shares with cost utilities, exact (Fractions), no completion.

    Each voter starts with budget/n (+ extra_per_voter). In each round the project that
    its supporters can pay at the lowest price per unit of utility rho is bought; each
    supporter pays min(their money, rho * cost). Voters with identical ballots are grouped.
    """
    n = len(ballots)
    if n == 0:
        return []
    groups = {}
    for ballot in ballots:
        key = frozenset(p for p in ballot if p in costs)
        groups[key] = groups.get(key, 0) + 1
    keys = list(groups)
    weight = [groups[k] for k in keys]
    money = [Fraction(budget, n) + extra_per_voter for _ in keys]
    supporters = {p: [g for g, k in enumerate(keys) if p in k] for p in costs}
    remaining = {p for p in costs if supporters[p] and costs[p] > 0}
    chosen = []
    while remaining:
        best = None
        for p in sorted(remaining):
            cost = costs[p]
            members = sorted(supporters[p], key=lambda g: money[g])
            if sum(money[g] * weight[g] for g in members) < cost:
                continue
            paid, left_weight, alpha = Fraction(0), sum(weight[g] for g in members), None
            for g in members:
                candidate = (cost - paid) / left_weight
                if candidate <= money[g]:
                    alpha = candidate
                    break
                paid += money[g] * weight[g]
                left_weight -= weight[g]
            rho = alpha / cost
            if best is None or rho < best[0]:
                best = (rho, p, alpha)
        if best is None:
            break
        rho, p, alpha = best
        for g in supporters[p]:
            money[g] -= min(money[g], alpha)
        chosen.append(p)
        remaining.discard(p)
        remaining = {
            q for q in remaining if sum(money[g] * weight[g] for g in supporters[q]) >= costs[q]
        }
    return chosen


def mes_add1(costs, ballots, budget):
    """MES, then +1 per voter while the outcome still fits the budget (pabulib "add1")."""
    if not ballots:
        return []
    previous = None
    for k in range(0, int(budget) + 1):
        current = mes(costs, ballots, budget, k)
        if sum(costs[p] for p in current) > budget:
            return previous or []
        previous = current
    return previous or []


RULES = {"greedy": greedy, "mes": mes, "mes-add1": mes_add1, "fallback": greedy}


def winners(engine_rule, costs, ballots, budget, min_votes=None):
    """Winners (ids as strings) of the engine rule recorded with a result."""
    votes = approvals(costs, ballots)
    eligible = {p: c for p, c in costs.items() if not min_votes or votes[p] >= min_votes}
    trimmed = [frozenset(p for p in b if p in eligible) for b in ballots]
    return RULES[engine_rule](eligible, trimmed, budget)


# ------------------------------------------------------------------ checking a cycle
class Mismatch(Exception):
    pass


def check(ledger_doc, verification, proof=None, out=print):
    leaves = [entry.encode() for entry in ledger_doc["leaves"]]
    hashes = [leaf_hash(data) for data in leaves]
    root = merkle_root(hashes).hex()
    out(f"ledger: {len(leaves)} entries, recomputed root {root}")
    if ledger_doc.get("algorithm", ALGORITHM) != ALGORITHM:
        raise Mismatch(f"unknown ledger algorithm {ledger_doc.get('algorithm')}")
    if (len(leaves), root) != (ledger_doc["size"], ledger_doc["root"]):
        raise Mismatch(
            f"the published ledger head (size {ledger_doc['size']}, root {ledger_doc['root']}) "
            f"differs from the entries (size {len(leaves)}, root {root})"
        )
    head = verification["ledger"]
    if (head["size"], head["root"]) != (len(leaves), root):
        raise Mismatch("the cycle's published ledger head differs from the entries")
    final, versions = {}, {}
    for position, data in enumerate(leaves):
        body = json.loads(data)
        if body["cycle"] != verification["cycle_id"]:
            raise Mismatch(f"ledger entry {position} belongs to cycle {body['cycle']}")
        if body["v"] != versions.get(body["ballot"], 0) + 1:
            raise Mismatch(f"ledger entry {position}: ballot {body['ballot']} skips a version")
        versions[body["ballot"]] = body["v"]
        final[body["ballot"]] = frozenset(str(p) for p in body["choices"])
    ballots = list(final.values())
    out(f"ballots: {len(ballots)} (last version of each)")
    if proof is not None:
        ok = check_inclusion(
            proof["leaf_index"],
            proof["tree_size"],
            leaf_hash(proof["leaf_data"].encode()),
            [bytes.fromhex(h) for h in proof["audit_path"]],
            bytes.fromhex(proof["root"]),
        )
        if not ok or proof["root"] != root and proof["tree_size"] == len(leaves):
            raise Mismatch("the receipt's inclusion proof does not check out")
        if (
            proof["tree_size"] <= len(leaves)
            and leaves[proof["leaf_index"]] != proof["leaf_data"].encode()
        ):
            raise Mismatch("the receipt's ledger entry differs from the published one")
        out("receipt proof: your ballot's entry is in the ledger")
    latest = {}
    for result in verification["results"]:
        latest[result["rule"]] = result
    if not latest:
        out("no published result yet")
    for rule, result in sorted(latest.items()):
        label = f"result {rule} v{result['version']}"
        named = result.get("ledger")
        if named and (named["size"], named["root"]) != (len(leaves), root):
            raise Mismatch(f"{label} names another ledger head ({named['size']}, {named['root']})")
        costs = {str(p): int(c) for p, c in result["costs"].items()}
        votes = approvals(costs, ballots)
        for p in sorted(costs):
            if votes[p] != result["votes"].get(p, 0):
                raise Mismatch(
                    f"{label}: project {p} has {votes[p]} approvals in the ballots, "
                    f"{result['votes'].get(p, 0)} published"
                )
        engine = result.get("engine_rule") or ("mes-add1" if rule == "mes" else "greedy")
        got = winners(engine, costs, ballots, int(verification["budget"]), result.get("min_votes"))
        published = sorted(str(p) for p in result["selected"])
        if sorted(got) != published:
            raise Mismatch(f"{label}: recomputed winners {sorted(got)} != published {published}")
        out(f"{label}: {len(published)} winners recomputed with {engine}: same")


def _get(url):
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"not a web address: {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 (checked above)
        return json.load(response)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("portal", nargs="?", help="the portal's address, e.g. https://tynda.kz")
    parser.add_argument("cycle", nargs="?", type=int, help="the budget cycle's id")
    parser.add_argument("--ledger", help="a downloaded ledger entries file (JSON)")
    parser.add_argument("--verification", help="a downloaded rules-and-results file (JSON)")
    parser.add_argument("--receipt-proof", help="a downloaded inclusion proof (JSON)")
    args = parser.parse_args(argv)
    try:
        if args.ledger and args.verification:
            with open(args.ledger, encoding="utf-8") as f:
                ledger_doc = json.load(f)
            with open(args.verification, encoding="utf-8") as f:
                verification = json.load(f)
        elif args.portal and args.cycle is not None:
            base = args.portal.rstrip("/") + f"/api/v1/cycles/{args.cycle}"
            verification = _get(base + "/verification")
            ledger_doc = _get(base + "/ledger/leaves")
        else:
            parser.error("give PORTAL CYCLE, or --ledger and --verification")
        proof = None
        if args.receipt_proof:
            with open(args.receipt_proof, encoding="utf-8") as f:
                proof = json.load(f)
        check(ledger_doc, verification, proof)
    except Mismatch as difference:
        print(f"DIFFERENCE: {difference}")
        return 1
    except (OSError, ValueError, KeyError) as error:
        print(f"ERROR: could not read the published data: {error}", file=sys.stderr)
        return 2
    print("MATCH")
    return 0


if __name__ == "__main__":
    sys.exit(main())
