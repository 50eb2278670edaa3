"""Installed into the harness's CPU environment (with a .pth line that imports it at start-up).

Where the only torchvision build at hand is a CUDA one beside a CPU torch, `import torchvision` fails with
"operator torchvision::nms does not exist" (through the training script it surfaces as a confusing
"Could not import module 'BloomPreTrainedModel'"). Right before torchvision is first imported, this declares
the two operator schemas torchvision registers at import time when the torch build lacks them. The training
script needs only torchvision.transforms; nothing here runs nms. Where torchvision's own ops load, this does
nothing. Importing this module imports nothing heavy: torch is touched only when torchvision is imported.
"""
import importlib.abc
import sys

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_library = None  # kept alive: dropping the Library object would unregister the schemas


def _declare_missing_ops():
    global _library
    import torch

    if hasattr(torch.ops, "torchvision") and _has_op(torch.ops.torchvision, "nms"):
        return
    _library = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS:
        _library.define(schema)


def _has_op(namespace, name):
    try:
        getattr(namespace, name)
        return True
    except (AttributeError, RuntimeError):
        return False


class _BeforeTorchvision(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torchvision":
            sys.meta_path.remove(self)
            _declare_missing_ops()
        return None


if not any(isinstance(finder, _BeforeTorchvision) for finder in sys.meta_path):
    sys.meta_path.insert(0, _BeforeTorchvision())
