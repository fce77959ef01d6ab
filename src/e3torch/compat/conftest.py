"""pytest: modules not collected for doctests.

``install.py`` and ``__main__.py`` switch the process over to the compat layer when imported; ``util/test.py``
defines e3nn's autouse, parametrized ``float_tolerance`` fixture, which pytest would apply to that module's doctests.
"""

collect_ignore = ["install.py", "__main__.py", "util/test.py"]
