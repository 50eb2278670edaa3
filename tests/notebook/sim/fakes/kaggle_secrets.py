"""Stand-in for Kaggle's kaggle_secrets: the secrets attached to the notebook, $NBSIM_SECRETS (JSON)."""
import os

from record import record, secrets


class BackendError(Exception):
    pass


class UserSecretsClient:
    def get_secret(self, label):
        record("kaggle.get_secret", name=label)
        if os.environ.get("NBSIM_PLATFORM") != "kaggle":
            raise BackendError("no Kaggle backend")
        if label not in secrets():
            raise BackendError(f"No user secrets exist for kernel id and label {label}")
        return secrets()[label]
