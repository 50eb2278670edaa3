"""Shared by the fakes: append one JSON line per call to $NBSIM_LOG, which the test reads afterwards."""
import json
import os


def record(kind, **fields):
    with open(os.environ["NBSIM_LOG"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"kind": kind, **fields}) + "\n")


def secrets():
    return json.loads(os.environ.get("NBSIM_SECRETS", "{}"))
