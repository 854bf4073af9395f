"""Compiled MES rounds for ``tally.py`` (numba). No Flask.

A Warsaw-sized MES run evaluates ~125 prices over ~3,000 supporter groups
and pays ~45 winners; in numpy each evaluation is ~18 small calls and each
round a few Python objects, so call overhead, not arithmetic, dominated.
:func:`rounds` runs a run's rounds in one compiled call: the same lazy heap,
the same float formulas and proven error bounds as ``_Run._round``,
``_Run._estimate`` and ``_Run._pay`` (numpy), and it hands a round back to
them whenever one of its decisions needs exact arithmetic (about one round
in 200-500 on the real files). Floats still only *find* prices.

Sums here are sequential, not numpy's pairwise ones: the bounds already
assume the worst order (see :func:`_price`). The floats differ in the last
bits from the numpy path's, never a decision: tests compare the results.

Compiled on first use (several seconds of CPU, once) and cached beside this
file, or in a per-user cache directory when that is read-only
(``cache=True``); when no directory is writable numba refuses ``cache=True``
outright, and the functions are compiled in memory in each process instead
(:func:`_compiled`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_U = 2.0**-53  # unit roundoff of float64 (as in tally.py)
_ALIVE = np.iinfo(np.int32).max  # as tally._ALIVE


def _compiled(function):
    try:
        return njit(cache=True, nogil=True)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(nogil=True)(function)


# outcomes of :func:`_price`
UNAFFORDABLE, CHECK, UNSURE, FOUND = 0, 1, 2, 3


@_compiled
def _price(bud, sup, w, cost, weight, errb, s_low, p, b, few, new):
    """Float price of project ``p`` over its supporter groups ``sup`` (weights ``w``),
    as ``tally._Run._estimate``: returns ``(status, s, err_pay, rho, err, rich, m)``.

    ``CHECK``: the supporters' money is too close to the cost for floats;
    ``UNSURE``: the poor/rich split is; both are for exact arithmetic. The
    supporters' budgets are left in ``b`` and the positions of the ``m``
    poor in ``few`` (``new``: scratch; all three at least as long as ``sup``).

    Bounds for sequential summation: a sum of n non-negative products
    computed left to right errs by at most gamma_n = n*u/(1-n*u) of the
    exact sum, below (n + 4)*u of the computed one for any n < 10**7 --
    the bound used here (and in the numpy path, whose pairwise sums err
    less). Sums of integer weights are exact in any order.
    """
    n = sup.shape[0]
    s = cost / weight
    # start from the last price found in this run, a lower bound: who is poor at
    # it is poor now, and the poor/rich iteration only adds more
    start = max(s, s_low[p])
    total = 0.0
    low = np.inf
    m = 0
    for i in range(n):
        x = bud[sup[i]]
        b[i] = x
        total += x * w[i]
        low = min(low, x)
        few[m] = i
        m += x < start
    err_total = (n + 4) * _U * abs(total) + weight * errb + _U * cost
    if total + err_total < cost:
        return UNAFFORDABLE, 0.0, 0.0, 0.0, 0.0, 0.0, 0
    if total - err_total < cost:
        return CHECK, 0.0, 0.0, 0.0, 0.0, 0.0, 0
    if m == 0:  # everybody can pay an equal share
        err_s = 4 * _U * s
        if low - errb <= s + err_s:
            return UNSURE, 0.0, 0.0, 0.0, 0.0, 0.0, 0
        rho = s / cost
        return FOUND, s, err_s, rho, err_s / cost + 4 * _U * rho, weight, 0
    paid = rich = 0.0
    lowest_rich = np.inf
    converged = False
    for _ in range(8):
        paid = 0.0
        poor_weight = 0.0
        for j in range(m):
            i = few[j]
            paid += b[i] * w[i]
            poor_weight += w[i]
        rich = weight - poor_weight
        if rich <= 0:
            return UNSURE, 0.0, 0.0, 0.0, 0.0, 0.0, 0
        s = (cost - paid) / rich
        count = 0
        lowest_rich = np.inf
        for i in range(n):  # one pass: who is poor at s, and the cheapest rich
            x = b[i]
            poor = x < s
            new[count] = i  # branch-free: poor and rich are mixed unpredictably
            count += poor
            lowest_rich = min(lowest_rich, np.inf if poor else x)
        if count == m:  # in exact arithmetic the set only grows
            converged = True
            break
        few[:count] = new[:count]
        m = count
    if not converged:
        return UNSURE, 0.0, 0.0, 0.0, 0.0, 0.0, 0
    err_paid = (m + 4) * _U * abs(paid) + (weight - rich) * errb
    err_s = 2 * ((err_paid + _U * cost + _U * abs(cost - paid)) / rich + _U * s)
    if s - err_s <= 0:
        return UNSURE, 0.0, 0.0, 0.0, 0.0, 0.0, 0
    # ``few`` (the set s was computed from) is proven poor: each budget is below
    # s by more than the errors; as many are below s, so they are all of those
    high = -np.inf
    for j in range(m):
        high = max(high, b[few[j]])
    if high + errb >= s - err_s:
        return UNSURE, 0.0, 0.0, 0.0, 0.0, 0.0, 0
    # and no rich budget is at most ``above`` (1 + 4U covers the roundings)
    above = (s + err_s + errb) * (1 + 4 * _U)
    if lowest_rich <= above:
        return UNSURE, 0.0, 0.0, 0.0, 0.0, 0.0, 0
    s_low[p] = s - err_s
    rho = s / cost
    err_pay = err_s - 2 * (weight - rich) * errb / rich
    return FOUND, s, err_pay, rho, err_s / cost + 4 * _U * rho, rich, m


# outcomes of :func:`rounds`
DONE, PYTHON, RESYNC = 0, 1, 2


@_compiled
def _push(keys, ps, size, key, p):
    """Binary min-heap on (key, p) in ``keys[:size]``, ``ps[:size]``; returns the new size."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] < key or (keys[parent] == key and ps[parent] < p):
            break
        keys[i], ps[i] = keys[parent], ps[parent]
        i = parent
    keys[i], ps[i] = key, p
    return size + 1


@_compiled
def _pop(keys, ps, size):
    """Remove the smallest (key, p); returns it and the new size."""
    key, p = keys[0], ps[0]
    size -= 1
    last_key, last_p = keys[size], ps[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        right = child + 1
        if right < size and (
            keys[right] < keys[child] or (keys[right] == keys[child] and ps[right] < ps[child])
        ):
            child = right
        if last_key < keys[child] or (last_key == keys[child] and last_p < ps[child]):
            break
        keys[i], ps[i] = keys[child], ps[child]
        i = child
    keys[i], ps[i] = last_key, last_p
    return key, p, size


@_compiled
def rounds(
    bud, died, s_low, ptr, idx, wsup, w, cost, weight,
    keys, ps, size, order, rich_of, high_of, low_of, beaten, r, errb, B0f, money_high, resync,
    ceiling, floor, ref_order, tracking,
):  # fmt: skip
    """Rounds of ``tally._Run._round`` while floats decide them; see there for the rules.

    Project p's supporter groups are ``idx[ptr[p]:ptr[p + 1]]`` (weights ``wsup``
    alike). Winners go to ``order[r]``, ``rich_of[r]``, ``high_of[r]`` and ``low_of[r]``
    (bounds on the winner's exact price per unit of utility), the proof against a
    reference run (its winners' bounds: ``ceiling``, ``floor``) to ``beaten[r]`` (0 or 1)
    while ``tracking``. Stops before a round
    that needs exact arithmetic (a price or an affordability too close to
    call, near-tied winners, a rival too close to the reference's price):
    ``PYTHON``, the heap holding every candidate still in play and nothing
    of that round done; after a round whose error bound passes ``resync``:
    ``RESYNC``; when nothing is affordable: ``DONE``. ``money_high`` is an
    upper bound on all the money left (a filter only). Returns
    ``(status, r, size, errb, money_high, tracking)``.
    """
    most = 0
    for p in range(cost.shape[0]):
        most = max(most, ptr[p + 1] - ptr[p])
    b = np.empty(most)
    few = np.empty(most, np.int64)
    new = np.empty(most, np.int64)
    found = np.empty(cost.shape[0], np.int64)
    f_rho = np.empty(cost.shape[0])
    f_err = np.empty(cost.shape[0])
    f_s = np.empty(cost.shape[0])
    f_err_pay = np.empty(cost.shape[0])
    f_rich = np.empty(cost.shape[0])
    while True:
        tracking = tracking and r < ceiling.shape[0]
        ceil = ceiling[r] if tracking else -np.inf
        count = 0
        best_high = np.inf
        while size > 0 and keys[0] <= max(best_high, ceil):
            key, p, size = _pop(keys, ps, size)
            if cost[p] * (1 - 2 * _U) > money_high:
                continue  # not even all the money left would pay for it
            lo, hi = ptr[p], ptr[p + 1]
            status, s, err_pay, rho, err, rich, m = _price(
                bud, idx[lo:hi], wsup[lo:hi], cost[p], weight[p], errb, s_low, p, b, few, new
            )  # fmt: skip
            if status == UNAFFORDABLE:
                continue  # now, hence for the rest of the run
            if status != FOUND:  # exact arithmetic decides: give the round back
                size = _push(keys, ps, size, key, p)
                for j in range(count):
                    size = _push(keys, ps, size, (f_rho[j] - f_err[j]) * (1 - 4 * _U), found[j])
                return PYTHON, r, size, errb, money_high, tracking
            found[count], f_rho[count], f_err[count] = p, rho, err
            f_s[count], f_err_pay[count], f_rich[count] = s, err_pay, rich
            count += 1
            best_high = min(best_high, rho + err)
        if count == 0:
            return DONE, r, size, errb, money_high, tracking
        winner = -1
        close = 0
        for j in range(count):
            if f_rho[j] - f_err[j] <= best_high:
                close += 1
                winner = j
        handback = close > 1  # near-tied: exact comparison
        ok = False
        if tracking and not handback:
            ok = found[winner] == ref_order[r]
            undecided = False
            for j in range(count):
                if ok and j != winner and not f_rho[j] - f_err[j] > ceil:
                    if f_rho[j] + f_err[j] < floor[r]:
                        ok = False  # provably cheaper than the reference's winner
                    else:
                        undecided = True
            handback = ok and undecided  # exact comparison with the reference's price
        if handback:
            for j in range(count):
                size = _push(keys, ps, size, (f_rho[j] - f_err[j]) * (1 - 4 * _U), found[j])
            return PYTHON, r, size, errb, money_high, tracking
        if tracking:
            beaten[r] = ok  # -1 (left as is): not tracked
            tracking = ok
        for j in range(count):
            if j != winner:
                size = _push(keys, ps, size, (f_rho[j] - f_err[j]) * (1 - 4 * _U), found[j])
        # pay: the rich keep b - s, the poor (b < s, proven) 0, as tally._Run._pay
        p, s = found[winner], f_s[winner]
        voters = 0
        for i in range(ptr[p], ptr[p + 1]):
            g = idx[i]
            x = bud[g]
            if x < s:
                bud[g] = 0.0
                if died[g] == _ALIVE:
                    died[g] = r
                    voters += w[g]
            else:
                bud[g] = x - s
        err_s = f_err_pay[winner] + 2 * voters * errb / f_rich[winner]
        errb += err_s + 4 * _U * B0f
        order[r], rich_of[r] = p, f_rich[winner]
        high_of[r] = (f_rho[winner] + f_err[winner]) * (1 + 4 * _U)
        low_of[r] = (f_rho[winner] - f_err[winner]) * (1 - 4 * _U)
        r += 1
        money_high -= cost[p] * (1 - 2 * _U)
        money_high += 4 * _U * (abs(money_high) + cost[p])
        if errb > resync:
            return RESYNC, r, size, errb, money_high, tracking
