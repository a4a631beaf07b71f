"""``python -m privicore_async.cli``: the same as the ``privicore`` console script."""

from . import main

raise SystemExit(main())
