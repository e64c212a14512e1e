# pytest's entry point for the notebook tests: nbval with the strict checks of
# tests/notebooks/nbstrict.py (pytest.ini puts tests/notebooks on the path).
pytest_plugins = ["nbstrict"]
