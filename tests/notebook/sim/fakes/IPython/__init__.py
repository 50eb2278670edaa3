"""Stand-in for IPython, only as far as the notebook uses it: IPython.display (see display.py)."""
