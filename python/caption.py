"""BLIP captions for the images a spec lists, as JSON lines on stdout.

    python python/caption.py <spec.json>

The spec (written by `harness caption`) fixes everything: model id and pinned revision, generation
settings, the dtype per device and the files in order. The only thing read from the machine is
whether torch sees a CUDA device when the spec says device "auto".

Events, one JSON object per line on stdout (anything else a library prints goes to stderr):
  {"v":1,"type":"start","model":…,"revision":…,"device":…,"dtype":…,"versions":{…}}
  {"type":"caption","name":"01.png","text":"…"}        one per image, in spec order
  {"type":"error","kind":"missing_package"|"bad_spec"|"bad_image"|"model","message":…}
  {"type":"end","count":N}
Exit 0 on success, 1 on an error event, 2 on a usage error.
"""

import json
import os
import platform
import sys

PROTOCOL = 1


def open_protocol_channel():
    # Keep the real stdout for events; point fd 1 at stderr so stray prints cannot corrupt the stream.
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def main(argv):
    if len(argv) != 2:
        print("usage: caption.py <spec.json>", file=sys.stderr)
        return 2
    channel = open_protocol_channel()

    def emit(event):
        channel.write(json.dumps(event, ensure_ascii=False) + "\n")
        channel.flush()

    try:
        with open(argv[1], encoding="utf-8") as handle:
            spec = json.load(handle)
        model_id = spec["model"]["id"]
        revision = spec["model"]["revision"]
        generation = spec["generation"]
        images = spec["images"]
        device_wanted = spec["device"]
        dtypes = spec["dtypes"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        emit({"type": "error", "kind": "bad_spec", "message": f"{argv[1]}: {error!r}"})
        return 1

    try:
        import torch
        import transformers
        from PIL import Image, ImageOps
        from transformers import BlipForConditionalGeneration, BlipProcessor
    except ImportError as error:
        emit({"type": "error", "kind": "missing_package", "package": error.name or str(error), "message": str(error)})
        return 1

    device = device_wanted
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype_name = dtypes[device]
    dtype = getattr(torch, dtype_name)

    try:
        processor = BlipProcessor.from_pretrained(model_id, revision=revision)
        # Cast after loading: the dtype keyword was renamed (torch_dtype → dtype) across transformers
        # releases, and the stored weights are fp32 either way.
        model = BlipForConditionalGeneration.from_pretrained(model_id, revision=revision)
        model = model.to(device=device, dtype=dtype).eval()
    except Exception as error:  # noqa: BLE001 - reported to the harness, which decides what to say
        emit({"type": "error", "kind": "model", "message": f"{type(error).__name__}: {error}"})
        return 1

    emit({
        "v": PROTOCOL,
        "type": "start",
        "model": model_id,
        "revision": revision,
        "device": device,
        "dtype": dtype_name,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "cuda": torch.version.cuda or "",
            "gpu": torch.cuda.get_device_name(0) if device == "cuda" else "",
        },
    })

    count = 0
    for image_spec in images:
        name = image_spec["name"]
        try:
            with Image.open(image_spec["path"]) as opened:
                # The trainer applies EXIF rotation before use; caption what it will see.
                image = ImageOps.exif_transpose(opened).convert("RGB")
        except Exception as error:  # noqa: BLE001
            emit({"type": "error", "kind": "bad_image", "name": name, "message": f"{type(error).__name__}: {error}"})
            return 1
        inputs = processor(images=image, return_tensors="pt").to(device, dtype)
        with torch.inference_mode():
            ids = model.generate(
                **inputs,
                max_length=generation["max_length"],
                num_beams=generation["num_beams"],
                do_sample=generation["do_sample"],
            )
        text = processor.batch_decode(ids, skip_special_tokens=True)[0]
        emit({"type": "caption", "name": name, "text": text})
        count += 1

    emit({"type": "end", "count": count})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
