"""``python -m privicore_async.sandbox``: see :mod:`privicore_async.sandbox.process`."""

from .process import main

raise SystemExit(main())
