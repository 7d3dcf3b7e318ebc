"""The small HTML pages a seller sees after an authorization."""

from __future__ import annotations

from html import escape


def result_page(title: str, detail: str, *, ok: bool) -> str:
    tone = "#0a7d32" if ok else "#a11"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · sellerhub</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}}
h1{{color:{tone}}}</style></head>
<body><h1 id="result" data-ok="{str(ok).lower()}">{escape(title)}</h1>
<p id="detail">{escape(detail)}</p></body></html>
"""
