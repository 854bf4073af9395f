"""Printable pages as PDF with WeasyPrint (Pango shapes Kazakh and Russian Cyrillic).

A cross-cutting helper: takes rendered HTML and the folder its /static/ URLs live in; imports
no capability. Static files are read from disk; nothing is fetched over the network.
"""

import mimetypes
from pathlib import Path


def html_to_pdf(html: str, base_url: str, static_folder: str) -> bytes:
    """The HTML (print media) as PDF bytes; /static/ URLs are read from `static_folder`."""
    # Imported late: loading Pango is only needed when someone asks for a PDF.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = Path(static_folder).resolve()

    class StaticOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            marker = "/static/"
            if marker in url:
                name = url.split(marker, 1)[1].split("?", 1)[0]
                path = (root / name).resolve()
                if root in path.parents and path.is_file():
                    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(
                        url, body=path.read_bytes(), headers={"Content-Type": kind}
                    )
            raise ValueError(f"not fetched: {url}")  # no network from a report

    return HTML(string=html, base_url=base_url, url_fetcher=StaticOnly()).write_pdf()
