"""Stand-in for google.colab at its boundary: Drive and the Secrets panel (see drive.py, userdata.py)."""
