"""Stand-in for google.colab.drive. On a simulated Colab, mount makes <mountpoint>/MyDrive the folder
$NBSIM_DRIVE (what the test put "on Drive"); flush_and_unmount takes it away again. On a simulated Kaggle
(NBSIM_PLATFORM=kaggle, whose image has google.colab too) mount fails as it does there."""
import os

from record import record

_mounted = []


def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
    record("drive.mount", mountpoint=mountpoint)
    if os.environ.get("NBSIM_PLATFORM") != "colab":
        raise ValueError("mount failed")  # what Kaggle's copy of google.colab does
    os.makedirs(mountpoint, exist_ok=True)
    link = os.path.join(mountpoint, "MyDrive")
    if not os.path.islink(link):
        os.symlink(os.environ["NBSIM_DRIVE"], link)
    _mounted.append(mountpoint)


def flush_and_unmount(timeout_ms=86400000):
    record("drive.flush_and_unmount")
    while _mounted:
        link = os.path.join(_mounted.pop(), "MyDrive")
        if os.path.islink(link):
            os.remove(link)
