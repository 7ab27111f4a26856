"""Test side: the reference's evaluation loop, re-implemented from reading the authors' code.

Sources read (github AntResearchNLP/ViLaSR at 61669c0): ``eval/infer.py``
(``eval_model`` message building per dataset branch, ``multi_turn_generate``,
``process_single_response``), ``utils/edit_image.py`` (``parse_json``,
``parse_bbox_and_movement``, ``merge_*``, ``plot_bounding_boxes``,
``plot_movement``), and qwen-vl-utils' ``fetch_image`` / ``smart_resize``.
Written independently of ``vilasr_ros``: given source images and scripted
assistant turns, it builds the conversation string and the images exactly as
the reference does (with its quirks: a replaced box stays burnt into a derived
image, the last same-label item of a call wins). See
``/work/notes/reference_spec.md`` for the citations.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import math
from dataclasses import dataclass, field
from importlib import resources

import jinja2
from PIL import Image, ImageColor, ImageDraw

from vilasr_ros.sim.tiny_model import QWEN2_5_VL_CHAT_TEMPLATE  # the template Qwen2.5-VL ships (data)

MAX_IMAGES = 45
PAD = "<|vision_start|><|image_pad|><|vision_end|>"

# eval/infer.py: the question template and the answer-type suffixes, as written there.
PROMPT_TEMPLATE = """
### Question:
{question}

Begin your reasoning. After each tool use, critically evaluate the visualization and adjust if needed:
"""
TYPE_TEMPLATE = {
    "multiple choice": "\nAnswer with the option's letter from the given choices directly.",
    "free-form": "",
    "regression": "\nPlease answer the question using a single word or phrase (e.g., 42 or 3.14).",
    "numerical": "\nPlease answer the question using a single word or phrase (e.g., 42 or 3.14).",
    "vci": "",  # SPAR-Bench
}
INTERMEDIATE_PROMPT = (
    "The index of the given image is {current_image_idx} (width: {width}, height: {height}). Continue your reasoning. "
    "After each tool use, critically evaluate the visualization and adjust if needed:"
)
FINAL_PROMPT = (
    "The index of the given image is {current_image_idx} (width: {width}, height: {height}). Then, you can not invoke "
    "the Object Mapper or Path Tracer tool. Please answer the initial question and structure your response as required:"
)
INTERMEDIATE_TEMPLATE = "<|im_end|>\n<|im_start|>user\n{pad}\n{prompt}\n<|im_end|>\n<|im_start|>assistant\n"


def system_prompt(width: int, height: int) -> str:
    """``SYSTEM_PROMPT.format(width=..., height=...)``; the prompt text itself is checked byte for byte elsewhere."""
    text = resources.files("vilasr_ros.reasoning").joinpath("prompts", "system_prompt.txt").read_text(encoding="utf-8")
    return text.replace("{width}", str(width)).replace("{height}", str(height))


# --- qwen_vl_utils --------------------------------------------------------------------------


def smart_resize(
    height: int, width: int, max_pixels: int, factor: int = 28, min_pixels: int = 4 * 28 * 28
) -> tuple[int, int]:
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def fetch_image(image: Image.Image, max_pixels: int = 16384 * 28 * 28) -> Image.Image:
    if image.mode == "RGBA":
        rgb = Image.new("RGB", image.size, (255, 255, 255))
        rgb.paste(image, mask=image.split()[3])
    else:
        rgb = image.convert("RGB")
    height, width = smart_resize(rgb.height, rgb.width, max_pixels)
    return rgb.resize((width, height))  # Pillow's default filter for RGB: bicubic


# --- utils/edit_image.py ----------------------------------------------------------------------

COLORS = [
    "red",
    "green",
    "blue",
    "yellow",
    "orange",
    "pink",
    "purple",
    "brown",
    "gray",
    "beige",
    "turquoise",
    "cyan",
    "magenta",
    "lime",
    "navy",
    "maroon",
    "teal",
    "olive",
    "coral",
    "lavender",
    "violet",
    "gold",
    "silver",
] + [name for name in ImageColor.colormap]


def plot_bounding_boxes(image: Image.Image, boxes: list[dict]) -> None:
    draw = ImageDraw.Draw(image)
    width, height = image.size
    for i, box in enumerate(boxes):
        if len(box["bbox_2d"]) != 4:
            continue
        color = COLORS[i % len(COLORS)]
        x1 = int(box["bbox_2d"][0] / width * width)
        y1 = int(box["bbox_2d"][1] / height * height)
        x2 = int(box["bbox_2d"][2] / width * width)
        y2 = int(box["bbox_2d"][3] / height * height)
        if x1 > x2:
            x1, x2 = x2, x1
        if y1 > y2:
            y1, y2 = y2, y1
        draw.rectangle(((x1, y1), (x2, y2)), outline=color, width=4)
        if "label" in box:
            draw.text((x1 + 8, y1 + 6), box["label"], fill=color)


def plot_movement(image: Image.Image, lines: list[dict]) -> None:
    draw = ImageDraw.Draw(image)
    width, height = image.size
    for line in lines:
        start, end = line["start_point_2d"], line["end_point_2d"]
        xs, ys = int(start[0]) / width * width, int(start[1]) / height * height
        xe, ye = int(end[0]) / width * width, int(end[1]) / height * height
        draw.line((xs, ys, xe, ye), fill="black", width=4)
        for color, point in zip(["red", "blue"], [start, end]):
            x, y = int(point[0]) / width * width, int(point[1]) / height * height
            draw.ellipse([(x - 4, y - 4), (x + 4, y + 4)], fill=color)


def parse_json(text: str) -> list[str]:
    blocks = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "```json":
            rest = "\n".join(lines[i + 1 :])
            blocks.append(rest.split("```")[0] if "```" in rest else rest.split("</think>")[0].strip())
    return blocks


def parse_bbox_and_movement(text: str) -> tuple[list[dict], list[dict]]:
    parsed = []
    for block in parse_json(text):
        with contextlib.suppress(ValueError, SyntaxError):
            parsed.append(ast.literal_eval(block))
    boxes, lines = [], []
    for item_list in parsed:
        for item in item_list:
            if "bbox_2d" in item and "label" in item:
                boxes.append(item)
            elif "start_point_2d" in item and "end_point_2d" in item and "label" in item:
                lines.append(item)
    return boxes, lines


def _merge(origin: dict[int, list[dict]], new: list[dict], new_index: int) -> int:
    if not new:
        return -1
    by_label = {item["label"]: item for item in new}  # the last item of a label wins
    bases = {item["index"] - 1 for item in new}
    assert len(bases) == 1
    base = bases.pop()
    origin.setdefault(base, [])
    merged = [by_label.pop(item["label"]) if item["label"] in by_label else item for item in origin[base]]
    merged.extend(by_label.values())
    origin[new_index] = copy.deepcopy(merged)
    return base


def merge_bbox_movement(boxes: dict, lines: dict, new_boxes: list[dict], new_lines: list[dict], new_index: int) -> int:
    box_base = _merge(boxes, new_boxes, new_index)
    line_base = _merge(lines, new_lines, new_index)
    if box_base >= 0 and line_base == -1:
        lines[new_index] = copy.deepcopy(lines[box_base])
    if line_base >= 0 and box_base == -1:
        boxes[new_index] = copy.deepcopy(boxes[line_base])
    boxes.setdefault(new_index, [])
    lines.setdefault(new_index, [])
    return max(box_base, line_base)


# --- eval/infer.py ------------------------------------------------------------------------------


@dataclass
class Episode:
    """What the reference loop built: the conversation string and the images, in order."""

    sequence: str
    images: list[Image.Image]
    finish_reason: str | None = None
    bbox_lists: dict[int, list[dict]] = field(default_factory=dict)


def first_messages(
    sources: list[Image.Image], question: str, problem_type: str, options: list[str], style: str, max_pixels: int
) -> tuple[list[dict], list[Image.Image]]:
    """The messages of ``eval_model`` for one example: ``style`` is maze (one image), multi_view or vsi_bench."""
    images = [fetch_image(source, max_pixels) for source in sources]
    width, height = images[0].size
    if style == "maze":
        prompt = question
        if problem_type == "multiple choice":
            prompt = prompt + "\n" + "\n".join(options)
        prompt = prompt + "\nThe index of the given image is 1." + TYPE_TEMPLATE[problem_type]
        content = [{"type": "image", "image": "1"}, {"type": "text", "text": PROMPT_TEMPLATE.format(question=prompt)}]
    elif style in ("multi_view", "vsi_bench"):
        if style == "vsi_bench":
            prompt = (
                f"These are frames from a video, numbered from 1 to {len(sources)} in sequence. That is, the index of "
                f"each image is 1, 2, 3, ..., {len(sources)}.\n\nAnswer the quesntion with appropriate tools:\n"
                + question
            )
            if problem_type == "multiple choice":
                prompt = prompt + "\n" + "\n".join(options)
            prompt = prompt + TYPE_TEMPLATE[problem_type]
        else:
            prompt = question
            if problem_type == "multiple choice":
                prompt = prompt + "\n" + "\n".join(options)
            prompt = prompt + "\n" + ""  # the empty post_prompt of SPAR / MMSI
            prompt = prompt + TYPE_TEMPLATE[problem_type]
        content = []
        for number in range(len(sources)):
            content += [
                {"type": "image", "image": str(number + 1)},
                {
                    "type": "text",
                    "text": f"The index of the given image is {number + 1} (width: {width}, height: {height}).\n",
                },
            ]
        content.append({"type": "text", "text": PROMPT_TEMPLATE.format(question=prompt)})
    else:
        raise ValueError(style)
    messages = [{"role": "system", "content": system_prompt(width, height)}, {"role": "user", "content": content}]
    return messages, images


def render_chat(messages: list[dict]) -> str:
    """``processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)``."""
    environment = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    return environment.from_string(QWEN2_5_VL_CHAT_TEMPLATE).render(messages=messages, add_generation_prompt=True)


def _process(response: str, images: list[Image.Image], boxes: dict, lines: dict) -> list[Image.Image] | str:
    """``process_single_response`` for an unfinished turn: the new images, or the finish reason."""
    new_boxes, new_lines = parse_bbox_and_movement(response)
    groups: dict = {}
    for item in copy.deepcopy(new_boxes):
        groups.setdefault(item["index"], {"bbox_list": [], "movement_list": []})["bbox_list"].append(item)
    for item in copy.deepcopy(new_lines):
        groups.setdefault(item["index"], {"bbox_list": [], "movement_list": []})["movement_list"].append(item)
    if not groups:
        return "ToolError"
    if len(images) >= MAX_IMAGES + 1:
        return "TooManyImages"
    made = []
    for count, group in enumerate(groups.values()):
        new_index = len(images) + count
        base = merge_bbox_movement(boxes, lines, group["bbox_list"], group["movement_list"], new_index)
        if base == -1:
            return "ToolError"
        image = images[base].copy()  # the base image, drawings already burnt in
        plot_bounding_boxes(image, boxes[new_index])
        plot_movement(image, lines[new_index])
        made.append(image)
    return made


def run_reference(
    sources: list[Image.Image],
    question: str,
    responses: list[str],
    problem_type: str = "free-form",
    options: list[str] | None = None,
    style: str = "maze",
    max_pixels: int = 351232,
    max_num_steps: int = 10,
) -> Episode:
    """``multi_turn_generate`` for one sample whose model turns are ``responses`` (each ended by EOS)."""
    messages, images = first_messages(sources, question, problem_type, options or [], style, max_pixels)
    images = [fetch_image(image) for image in images]  # multi_turn_generate fetches them again (no-op sizes)
    episode = Episode(render_chat(messages), images)
    boxes = {index: [] for index in range(len(images))}
    lines = {index: [] for index in range(len(images))}
    episode.bbox_lists = boxes
    responses = list(responses)
    calls_left = max_num_steps - 1
    while calls_left >= 0:
        calls_left -= 1
        if len(images) > MAX_IMAGES:  # _get_prompts_and_indices skips the sample
            break
        response = responses.pop(0)
        if calls_left == -1:
            episode.sequence += response
            episode.finish_reason = "stop"
            break
        if "<answer>" in response and "</answer>" in response:
            episode.sequence += response
            episode.finish_reason = "stop"
            break
        made = _process(response, images, boxes, lines)
        if isinstance(made, str):
            episode.sequence += response
            episode.finish_reason = made
            break
        count = len(images)
        first_new = count + 1
        if len(made) > 1:
            pad_prompt = ""
            for offset, image in enumerate(made):
                width, height = fetch_image(image).size
                index = first_new + offset
                if count + offset + 1 >= MAX_IMAGES:
                    pad_prompt += PAD + FINAL_PROMPT.format(current_image_idx=index, width=width, height=height)
                    images.append(image)
                    break
                if offset <= len(made) - 2:
                    pad_prompt += PAD + f"The index of the given image is {index} (width: {width}, height: {height}).\n"
                else:
                    template = INTERMEDIATE_PROMPT if calls_left > 0 else FINAL_PROMPT
                    pad_prompt += PAD + template.format(current_image_idx=index, width=width, height=height)
                images.append(image)
            episode.sequence += response + INTERMEDIATE_TEMPLATE.format(prompt="", pad=pad_prompt)
        else:
            width, height = fetch_image(made[0]).size
            if count + 1 >= MAX_IMAGES:
                prompt = FINAL_PROMPT.format(current_image_idx=first_new, width=width, height=height)
            else:
                template = INTERMEDIATE_PROMPT if calls_left > 0 else FINAL_PROMPT
                prompt = template.format(current_image_idx=first_new, width=width, height=height)
            episode.sequence += response + INTERMEDIATE_TEMPLATE.format(prompt=prompt, pad=PAD)
            images.append(made[0])
    return episode
