"""Accessibility checks for browser tests: axe-core's WCAG 2.1 A and AA rules."""

from pathlib import Path

AXE = Path(__file__).parent / "browser" / "vendor" / "axe-4.14.1.min.js"


def accessibility_violations(page):
    """Run axe-core (WCAG 2.1 A and AA rules) on the page; return the violations found."""
    page.add_script_tag(path=str(AXE))
    tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", tags
    )
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes, e.g. {v['nodes'][0]['html'][:120]})"
        for v in result["violations"]
    ]
