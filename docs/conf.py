"""Sphinx configuration of plkg's documentation: the user guide (Markdown) and the API reference.

``make docs`` builds it into ``build/docs/html`` with warnings as errors. The API reference is
written from the numpydoc docstrings (autodoc + numpydoc); the equations of the two papers render
with MathJax, in docstrings (``:math:``, ``.. math::``) and in pages (``$...$``). The build
fetches nothing from the network (no intersphinx); a browser loads MathJax from its CDN.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # the checkout's plkg, also when it is not installed

import plkg  # noqa: E402
from plkg._version import __version__  # noqa: E402

project = "plkg"
author = "plkg authors"
copyright = "plkg authors"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
# The committed run's data and figures: read by the pages' tests, shown or linked by the pages,
# never parsed as pages themselves.
exclude_patterns = ["results", "calibration", "figures", "_build", "Thumbs.db", ".DS_Store"]

# ------------------------------------------------------------------ Markdown (MyST)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 4  # the pages link to their own sections as #github-style-slugs

# ------------------------------------------------------------------ autodoc + numpydoc
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry shape, dtype and unit
autodoc_preserve_defaults = True  # show ``rng=None`` as written, not an object's repr
# A Lightning hook that plkg overrides shows plkg's docstring or none, never Lightning's.
autodoc_inherit_docstrings = False
numpydoc_show_class_members = False  # members are listed by autodoc's :members:
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False

# ------------------------------------------------------------------ HTML
html_theme = "alabaster"
html_title = f"plkg {release}"
html_static_path: list[str] = []
html_show_sourcelink = False


# ------------------------------------------------------------------ every public name documented
API_PAGE = DOCS / "api" / "plkg.rst"


def _documented_public_names(text: str) -> set[str]:
    """Names ``plkg.X`` given to an autodoc directive on the top-level API page."""
    found = re.findall(r"^\.\. auto\w+:: plkg\.(\w+)\s*$", text, flags=re.MULTILINE)
    return set(found)


def _check_public_api(app) -> None:
    """Warn (an error under ``-W``) for every name of ``plkg.__all__`` missing from api/plkg.rst."""
    from sphinx.util import logging

    missing = sorted(set(plkg.__all__) - _documented_public_names(API_PAGE.read_text("utf-8")))
    for name in missing:
        logging.getLogger(__name__).warning(
            "plkg.%s is in plkg.__all__ but not documented in docs/api/plkg.rst", name
        )


def _numpydoc_warnings_as_sphinx_warnings() -> None:
    """numpydoc reports an unknown section (whose text it then drops) with ``warnings.warn``;
    route it through Sphinx's logger so that ``-W`` fails the build on it."""
    from sphinx.util import logging

    logger = logging.getLogger("numpydoc")
    show = warnings.showwarning
    warnings.filterwarnings("default", category=UserWarning, module=r"numpydoc\.")

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if "numpydoc" in str(filename):
            logger.warning("%s", message)
        else:
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning


def _data_folder_links():
    """A post-transform that keeps a page's link to a data folder of docs/ as plain text.

    The pages link to ``results/`` (the committed run) for readers of the repository; in the HTML
    site that folder is not a page, so the link text stays, unlinked, instead of a warning.
    """
    from sphinx.addnodes import pending_xref
    from sphinx.transforms.post_transforms import SphinxPostTransform

    data_folders = {f"{name}/" for name in exclude_patterns if (DOCS / name).is_dir()}

    class DataFolderLinks(SphinxPostTransform):
        default_priority = 8  # before MyST's reference resolver (9)

        def run(self, **kwargs) -> None:
            for node in list(self.document.findall(pending_xref)):
                if node.get("reftype") == "myst" and node.get("reftarget") in data_folders:
                    node.replace_self(node.children)

    return DataFolderLinks


def setup(app):
    app.connect("builder-inited", _check_public_api)
    app.add_post_transform(_data_folder_links())
    _numpydoc_warnings_as_sphinx_warnings()
