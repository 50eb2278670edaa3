"""Stand-in `diffusers` for the GPU device check (tests/gpu/README.md): the device box has no diffusers.

Only what python/train.py's tap wraps: the LoRA save classmethod (inherited from a loader mixin, as in
diffusers, so the tap's MRO walk is exercised) and the from_pretrained calls that open the script's final
reload. The save writes a real safetensors file with the real `safetensors.torch.save_file`.
"""
import os

__version__ = "0.0.0+gpu-check-stand-in"

LORA_WEIGHT_NAME_SAFE = "pytorch_lora_weights.safetensors"


class StableDiffusionXLLoraLoaderMixin:
    @classmethod
    def save_lora_weights(
        cls,
        save_directory,
        unet_lora_layers=None,
        text_encoder_lora_layers=None,
        text_encoder_2_lora_layers=None,
        is_main_process=True,
        weight_name=None,
        save_function=None,
        safe_serialization=True,
    ):
        from safetensors.torch import save_file

        tensors = {}
        for prefix, layers in (("unet", unet_lora_layers), ("text_encoder", text_encoder_lora_layers), ("text_encoder_2", text_encoder_2_lora_layers)):
            for key, tensor in (layers or {}).items():
                tensors[f"{prefix}.{key}"] = tensor.detach().to("cpu").contiguous()
        if not tensors:
            raise ValueError("You must pass at least one of `unet_lora_layers`, `text_encoder_lora_layers`.")
        if not safe_serialization:
            raise ValueError("the GPU check stand-in only writes safetensors")
        os.makedirs(save_directory, exist_ok=True)
        save_file(tensors, os.path.join(save_directory, weight_name or LORA_WEIGHT_NAME_SAFE), metadata={"format": "pt"})


class DiffusionPipeline:
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        # The tap must leave before this point; reaching it makes the run end "error", which the check reports.
        raise RuntimeError("stand-in diffusers: the final pipeline reload was reached (the tap did not stop after the LoRA save)")


class StableDiffusionXLPipeline(DiffusionPipeline, StableDiffusionXLLoraLoaderMixin):
    pass


class ModelMixin:
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        raise RuntimeError("stand-in diffusers: AutoencoderKL.from_pretrained was reached (the tap did not stop after the LoRA save)")


class AutoencoderKL(ModelMixin):
    pass
