"""pytest: modules whose import switches the process over to the compat layer are not collected for doctests."""

collect_ignore = ["install.py", "__main__.py"]
