"""Sphinx configuration of the nitro_dispatch documentation.

Build it with ``python -m tox -e docs`` (warnings are errors), or with
``python -m sphinx -W -b html docs docs/_build/html`` where the ``docs``
extra is installed.  The API reference is generated from the installed
package's docstrings (autodoc); the plugins page lists what is installed in
the building environment (``nitro_dispatch.sphinxext``).
"""

import nitro_dispatch

project = "nitro_dispatch"
author = "The nitro_dispatch developers"
copyright = "The nitro_dispatch developers"
release = nitro_dispatch.__version__
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc", "nitro_dispatch.sphinxext"]

exclude_patterns = ["_build"]
templates_path: list = []
html_static_path: list = []
html_theme = "alabaster"
html_title = "nitro_dispatch %s" % (release,)

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
