"""PDF claim report: the HTML claim report printed to PDF by WeasyPrint, for auditors who
file reports as PDF.

WeasyPrint is an extra (`pip install "posture[pdf]"`) with system libraries (Pango, fonts);
without either, `--format pdf` is one line saying what to install. It renders the HTML
report's print stylesheet (every claim expanded, no backgrounds, no script: WeasyPrint runs
none), and fetches nothing: the report is self-contained and every URL fetch is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scanner.check import Check
from scanner.errors import PostureError
from scanner.reports import html
from scanner.reports.view import View
from scanner.result import ScanResult

INSTALL = ('pip install "posture[pdf]" (WeasyPrint) and its system libraries (Debian: '
           "apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)")


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"the PDF report fetches nothing ({url[:60]})")


def render(result: ScanResult, timestamps: bool = True,
           checks: Mapping[str, Check] | None = None, view: View | None = None) -> bytes:
    try:
        import weasyprint
    except ImportError:
        raise PostureError(f"--format pdf needs WeasyPrint: {INSTALL}") from None
    except OSError as exc:  # WeasyPrint is there, Pango or its fonts are not
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PostureError(f"--format pdf: WeasyPrint cannot load its system libraries "
                           f"({first}): {INSTALL}") from None
    text = html.render(result, timestamps, checks, view)
    document = weasyprint.HTML(string=text, url_fetcher=_no_fetch, media_type="print")
    pdf: bytes = document.write_pdf()
    return pdf
