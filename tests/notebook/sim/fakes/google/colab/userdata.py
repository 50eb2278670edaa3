"""Stand-in for google.colab.userdata: the Secrets panel, holding $NBSIM_SECRETS (a JSON object)."""
import os

from record import record, secrets


class SecretNotFoundError(Exception):
    pass


def get(key):
    record("colab.userdata.get", name=key)
    if os.environ.get("NBSIM_PLATFORM") != "colab":
        raise TimeoutError("timed out waiting for the Colab frontend")  # on Kaggle it waits, then fails
    if key not in secrets():
        raise SecretNotFoundError(f"Secret {key} does not exist.")
    return secrets()[key]
