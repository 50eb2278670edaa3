#!/usr/bin/env python3
"""A tiny random BLIP captioner for tests: tests/real/make_tiny_blip.py <out-dir>

Writes a folder that loads like the Hub's Salesforce/blip-image-captioning-base, with the same classes
python/caption.py uses (BlipForConditionalGeneration + BlipProcessor = BlipImageProcessor + BertTokenizer),
but a few hundred kB: two text and two vision layers, 32 px images, a WordPiece vocabulary of a few dozen
words. Weights are random from a fixed seed, so its captions are gibberish made of those words.

stdout: the folder, on one line.
"""
import os
import shutil
import sys

os.environ["HF_HUB_OFFLINE"] = "1"

SEED = 0
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["a", "an", "the", "boy", "girl", "man", "photo", "picture", "of", "with", "curly", "short", "hair",
         "in", "on", "at", "field", "table", "garden", "smiling", "standing", "sitting", "red", "blue", "green",
         "light", "dark", "##s", "##ing", "##ed", ",", "."]


def build(out_dir):
    import torch
    from transformers import (BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor,
                              BlipProcessor)

    os.makedirs(out_dir, exist_ok=True)
    vocab_dir = os.path.join(out_dir, ".vocab")
    os.makedirs(vocab_dir, exist_ok=True)
    with open(os.path.join(vocab_dir, "vocab.txt"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(SPECIAL + WORDS) + "\n")
    tokenizer = BertTokenizer.from_pretrained(vocab_dir)
    # BLIP's text decoder starts every caption with a [DEC] token (as the Hub model's tokenizer does)
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    vocab_size = len(tokenizer)

    config = BlipConfig(
        text_config={
            "vocab_size": vocab_size,
            "hidden_size": 32,
            "encoder_hidden_size": 32,
            "intermediate_size": 37,
            "projection_dim": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "max_position_embeddings": 64,
            "bos_token_id": tokenizer.convert_tokens_to_ids("[DEC]"),
            "pad_token_id": tokenizer.pad_token_id,
            "sep_token_id": tokenizer.sep_token_id,
            "eos_token_id": tokenizer.sep_token_id,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "projection_dim": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "image_size": 32,
            "patch_size": 8,
            # the default (1e-10) gives near-zero image features: every image would get the same caption
            "initializer_range": 0.02,
        },
        projection_dim=32,
        image_text_hidden_size=32,
    )
    torch.manual_seed(SEED)
    model = BlipForConditionalGeneration(config).eval()
    image_processor = BlipImageProcessor(size={"height": 32, "width": 32})
    processor = BlipProcessor(image_processor=image_processor, tokenizer=tokenizer)
    model.save_pretrained(out_dir, safe_serialization=True)
    processor.save_pretrained(out_dir)
    shutil.rmtree(vocab_dir)
    return out_dir


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: make_tiny_blip.py <out-dir>\n")
        return 2
    print(build(os.path.abspath(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
