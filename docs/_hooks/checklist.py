"""mkdocs hook: fill ``checks.md`` with the reproduce registry (every figure and claim).

The page lists what ``controlml reproduce`` runs, by paper section, with the paper's
caption or statement; the measured values live in the report itself.
"""

from __future__ import annotations

_MARK = "<!-- checklist -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 (mkdocs API)
    if _MARK not in markdown:
        return markdown
    from controlml.reproduce import SECTIONS, registry

    lines: list[str] = []
    for key, title in SECTIONS.items():
        exps = [e for e in registry() if e.section == key]
        if not exps:
            continue
        lines += [f"## {title}", "", "| name | what is reproduced | the paper says |",
                  "|---|---|---|"]
        lines += [f"| `{e.name}` | {_cell(e.title)} | {_cell(e.caption) or '-'} |" for e in exps]
        lines.append("")
    return markdown.replace(_MARK, "\n".join(lines))
