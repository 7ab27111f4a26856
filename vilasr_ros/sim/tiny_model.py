"""A tiny random Qwen2.5-VL, tokenizer and processor, built locally.

The model hub is unreachable from our machines, so tests, benchmarks and the
offline demo build a miniature of ViLaSR-7B's architecture (same classes, same
chat template and special tokens, a few hundred thousand random weights), save
it to a directory, and load it through exactly the code path that loads
``AntResearchNLP/ViLaSR``. Its output is gibberish; its shapes, positions,
caches and token accounting are those of the real model.
"""

from __future__ import annotations

import json
from pathlib import Path

# The chat template shipped with Qwen2.5-VL-7B-Instruct (and ViLaSR-7B).
QWEN2_5_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: "
    "{% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

_TRAINING_TEXT = [
    "<think> The chair is left of the door. </think> Action: Object Mapper",
    '```json\n[{"index": 1, "bbox_2d": [10, 20, 110, 220], "label": "red chair"}]\n```',
    '```json\n[{"index": 2, "start_point_2d": [60, 120], "end_point_2d": [300, 140], "label": "path"}]\n```',
    "<think> Measuring the distance along the floor. </think> Action: Path Tracer",
    "<think> I have enough evidence. </think> Action: Answer\n<answer> B </answer>",
    "The index of the given image is 1 (width: 784, height: 420). Continue your reasoning.",
    "How far is the red chair from the door? Answer with the option's letter. 0123456789 .,:;[]{}\"'()",
]


# Qwen2's pre-tokenizer split pattern: numbers are split digit by digit (``\p{N}`` alone).
QWEN2_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def build_tiny_qwen(
    directory: str | Path,
    seed: int = 0,
    max_pixels: int = 351232,
    *,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 2,
    vision_hidden_size: int = 32,
    vision_layers: int = 2,
    rope_theta: float = 1000000.0,
    split_digits: bool = False,
    vocab_size: int = 600,
) -> Path:
    """Build and save a tiny random Qwen2.5-VL with tokenizer and processor; return the directory.

    The directory then loads with ``from_pretrained`` like ViLaSR-7B. The defaults are the test model;
    training a tiny model wants more width, a low ``rope_theta`` (the image-width axis gets the lowest
    rotary frequencies: with 1e6 at a small head size columns are nearly indistinguishable) and
    ``split_digits`` (Qwen2's split pattern, then byte-level without its own regex, as Qwen's tokenizer).
    """
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2TokenizerFast,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    from vilasr_ros.reasoning.protocol import QUESTION_TEMPLATE, SYSTEM_PROMPT_TEMPLATE

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    # Byte-level BPE (as Qwen's), trained on protocol text; the specials come last.
    bpe = Tokenizer(models.BPE())
    if split_digits:
        bpe.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(QWEN2_SPLIT_PATTERN), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    else:
        bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([SYSTEM_PROMPT_TEMPLATE, QUESTION_TEMPLATE, *_TRAINING_TEXT], trainer=trainer)
    bpe.add_special_tokens(SPECIAL_TOKENS)
    tokenizer = Qwen2TokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        bos_token=None,
        errors="replace",
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = QWEN2_5_VL_CHAT_TEMPLATE
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}

    torch.manual_seed(seed)
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden_size,
            "intermediate_size": 2 * hidden_size,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": max(1, heads // 2),
            "max_position_embeddings": 32768,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": rope_theta,
                "mrope_section": _mrope_section(hidden_size // heads),
            },
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
            "tie_word_embeddings": False,
        },
        vision_config={
            "depth": vision_layers,
            "hidden_size": vision_hidden_size,
            "intermediate_size": 2 * vision_hidden_size,
            "num_heads": 2,
            "out_hidden_size": hidden_size,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 112,
            "fullatt_block_indexes": list(range(1, vision_layers, 2)),
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(directory)

    image_processor = Qwen2VLImageProcessor(min_pixels=28 * 28 * 4, max_pixels=max_pixels)
    video_processor = Qwen2VLVideoProcessor(min_pixels=28 * 28 * 4, max_pixels=max_pixels)
    processor = Qwen2_5_VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=QWEN2_5_VL_CHAT_TEMPLATE,
    )
    processor.save_pretrained(directory)
    (directory / "TINY_RANDOM_MODEL.json").write_text(
        json.dumps(
            {
                "what": "tiny random Qwen2.5-VL built by vilasr_ros for tests; not a real model",
                "seed": seed,
                "parameters": sum(parameter.numel() for parameter in model.parameters()),
            }
        )
    )
    return directory


def _mrope_section(head_dim: int) -> list[int]:
    """Qwen2.5-VL's split of the rotary half-dimension into (time, height, width) sections (7B: 16/24/24)."""
    half = head_dim // 2
    if half < 3:
        raise ValueError(f"head size {head_dim} is too small for 3-D rotary positions")
    time = max(1, half // 4)
    height = (half - time) // 2
    return [time, height, half - time - height]
