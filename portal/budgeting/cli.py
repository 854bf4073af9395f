"""``flask budgeting ...`` commands that need no database: ``tally``.

    flask --app wsgi budgeting tally FILE.pb --rule RULE [--json] [--threshold N]

Prints the winners of RULE on a pabulib file. With ``--json`` stdout is exactly
one JSON object ``{"rule", "selected", "total_cost", "budget", "seconds"}``
where ``seconds`` is the engine's own time (no start-up, no parsing). Bad input
(missing or malformed file, unknown rule, non-approval file) exits with code 2
and a one-line message on stderr. The add1 rules show a progress bar on stderr
only when stderr is a terminal.
"""

from __future__ import annotations

import json
import sys
import time
from fractions import Fraction

import click
from flask.cli import AppGroup

from portal.budgeting import pabulib, tally

cli = AppGroup("budgeting", help="Participatory budgeting commands.")


@cli.command("tally", with_appcontext=False)
@click.argument("path", metavar="FILE.pb", type=click.Path(dir_okay=False))
@click.option("--rule", "rule", required=True, help=f"One of: {', '.join(tally.RULES)}.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option(
    "--threshold",
    type=int,
    default=None,
    help="Minimum approvals for greedy-threshold (default: META min_project_score_threshold).",
)
def tally_command(path: str, rule: str, as_json: bool, threshold: int | None) -> None:
    """Compute the winners of RULE on a pabulib FILE.pb."""
    if rule not in tally.RULES:
        _fail(f"unknown rule {rule!r}; choose one of: {', '.join(tally.RULES)}")
    try:
        parsed = pabulib.load(path)
        instance = pabulib.to_instance(parsed)
    except pabulib.PabulibError as exc:
        _fail(f"{path}: {exc}")
    try:
        result, seconds = _timed_run(instance, rule, threshold)
    except tally.TallyError as exc:
        _fail(f"{path}: {exc}")
    if as_json:
        click.echo(json.dumps(_as_json(result, seconds)))
    else:
        _print_result(parsed, result, seconds)


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def _timed_run(instance: tally.Instance, rule: str, threshold: int | None):
    """Run the engine, with a progress bar on an interactive stderr only."""
    show = sys.stderr.isatty() and rule.startswith("mes-add1")
    if not show:
        start = time.perf_counter()
        result = tally.run(instance, rule, threshold=threshold)
        return result, time.perf_counter() - start
    with click.progressbar(length=1000, label="budget spent", file=sys.stderr) as bar:
        done = [0]

        def progress(share: float) -> None:
            target = min(1000, int(share * 1000))
            if target > done[0]:
                bar.update(target - done[0])
                done[0] = target

        start = time.perf_counter()
        result = tally.run(instance, rule, threshold=threshold, progress=progress)
        seconds = time.perf_counter() - start
        bar.update(1000 - done[0])
    return result, seconds


def _number(value):
    """int when integral, else the nearest float (JSON has no fractions)."""
    value = Fraction(value)
    return value.numerator if value.denominator == 1 else float(value)


def _as_json(result: tally.Result, seconds: float) -> dict:
    return {
        "rule": result.rule,
        "selected": list(result.selected),
        "total_cost": _number(result.total_cost),
        "budget": _number(result.budget),
        "seconds": round(seconds, 6),
    }


def _print_result(parsed: pabulib.PabulibFile, result: tally.Result, seconds: float) -> None:
    names = {p["project_id"]: p.get("name", "") for p in parsed.projects}
    costs = {p["project_id"]: p["cost"] for p in parsed.projects}
    title = parsed.meta.get("description", "")
    click.echo(f"{title}\nrule {result.rule}: {len(result.selected)} projects selected")
    for project_id in result.selected:
        click.echo(f"  {project_id:>10}  {costs[project_id]:>14}  {names[project_id]}")
    click.echo(f"total cost {_number(result.total_cost)} of budget {_number(result.budget)}")
    if result.increment:
        click.echo(f"MES ran with {result.increment} extra per voter (add1)")
    click.echo(f"computed in {seconds:.3f} s")
