"""Integrations with other frameworks; each needs an extra (see the submodules' docstrings).

:mod:`.taskiq` scales fleet synchronisations out over worker processes on taskiq and Redis
(the ``redis`` extra). Importing this package imports none of them.
"""
