"""Running the README's python blocks for real (see tests/test_readme.py)."""
