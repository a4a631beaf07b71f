"""Tests of privicore_async/journal: one suite over every store, and each store's own checks."""
