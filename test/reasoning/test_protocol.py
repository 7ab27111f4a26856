"""The prompt and tool format ViLaSR-7B was trained on, reproduced exactly."""

import hashlib
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vilasr_ros.core.question import AnswerType
from vilasr_ros.reasoning import protocol
from vilasr_ros.reasoning.protocol import BoxCall, ImageRef, LineCall, parse_turn

# sha256 of shared/protocol/*.txt: the package copies must stay byte-identical.
PROMPT_SHA256 = {
    "system_prompt.txt": "d5e21d35360fa5ae4d55dd3b2085b2fab9b8285a258a43e9edc93fccc802ff76",
    "question_template.txt": "dd8ebcb604bcade6a7b8bf0901f8049fab8629f79bbd101dcb55aba3d8350e4d",
}


@pytest.mark.parametrize("name", sorted(PROMPT_SHA256))
def test_prompt_files_are_the_reference_bytes(name):
    data = resources.files("vilasr_ros.reasoning").joinpath("prompts", name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == PROMPT_SHA256[name]


def test_system_prompt_substitutes_only_the_size_placeholders():
    text = protocol.system_prompt(784, 420)
    assert "bottom-right corner is (784, 420)" in text
    assert "{width}" not in text and "{height}" not in text
    assert '"bbox_2d": [x1, y1, x2, y2],' in text  # the JSON examples keep their braces
    assert text.startswith("### Guidance:\nYou are a spatial reasoning assistant")


def test_question_bodies_per_answer_type():
    assert protocol.question_body("Which is closer?", AnswerType.MULTIPLE_CHOICE, ("A. chair", "B. door")) == (
        "Which is closer?\nA. chair\nB. door\nAnswer with the option's letter from the given choices directly."
    )
    assert protocol.question_body("How far?", AnswerType.NUMERIC) == (
        "How far?\nPlease answer the question using a single word or phrase (e.g., 42 or 3.14)."
    )
    assert protocol.question_body("Describe.", AnswerType.FREE_FORM) == "Describe."


def test_first_user_turn_single_image():
    content = protocol.first_user_content([ImageRef(1, 784, 420)], "Where?", video=False)
    assert content == [
        ImageRef(1, 784, 420),
        "\n### Question:\nWhere?\nThe index of the given image is 1.\n\nBegin your reasoning. "
        "After each tool use, critically evaluate the visualization and adjust if needed:\n",
    ]


def test_first_user_turn_several_images_and_video_prefix():
    refs = [ImageRef(1, 784, 420), ImageRef(2, 420, 784)]
    content = protocol.first_user_content(refs, "Where?", video=True)
    assert content[:4] == [
        refs[0],
        "The index of the given image is 1 (width: 784, height: 420).\n",
        refs[1],
        "The index of the given image is 2 (width: 420, height: 784).\n",
    ]
    assert content[4].startswith(
        "\n### Question:\nThese are frames from a video, numbered from 1 to 2 in sequence. That is, the index of each "
        "image is 1, 2, 3, ..., 2.\n\nAnswer the quesntion with appropriate tools:\nWhere?\n\nBegin your reasoning."
    )


def test_tool_result_turns():
    one = protocol.tool_result_content([ImageRef(3, 784, 420)], final=False)
    assert one == [
        ImageRef(3, 784, 420),
        "The index of the given image is 3 (width: 784, height: 420). Continue your reasoning. "
        "After each tool use, critically evaluate the visualization and adjust if needed:",
    ]
    two = protocol.tool_result_content([ImageRef(3, 784, 420), ImageRef(4, 784, 420)], final=True)
    assert two[1] == "The index of the given image is 3 (width: 784, height: 420).\n"
    assert two[3] == (
        "The index of the given image is 4 (width: 784, height: 420). Then, you can not invoke the Object Mapper or "
        "Path Tracer tool. Please answer the initial question and structure your response as required:"
    )


def test_parse_object_mapper_and_path_tracer_blocks():
    text = (
        "<think> Find both. </think> Action: Object Mapper\n```json\n"
        '[{"index": 1, "bbox_2d": [10, 20, 110.5, 220], "label": "red chair"},\n'
        ' {"index": 2, "bbox_2d": [1, 2, 3, 4], "label": "door"}]\n```\n'
        "```json\n[{'index': 1, 'start_point_2d': [5, 6], 'end_point_2d': [7, 8], 'label': 'path'}]\n```"
    )
    turn = parse_turn(text)
    assert turn.action == "Object Mapper"
    assert turn.items == [
        BoxCall(1, "red chair", (10.0, 20.0, 110.5, 220.0)),
        BoxCall(2, "door", (1.0, 2.0, 3.0, 4.0)),
        LineCall(1, "path", (5.0, 6.0), (7.0, 8.0)),
    ]
    assert turn.answer is None and turn.problems == []


def test_parse_accepts_the_system_prompt_example_style_with_comments():
    text = 'Action: Object Mapper\n```json\n[{\n    "index": 1, # Image index\n    "bbox_2d": [1, 2, 3, 4],\n    "label": "x"\n}]\n```'
    assert parse_turn(text).items == [BoxCall(1, "x", (1.0, 2.0, 3.0, 4.0))]


def test_parse_answer():
    turn = parse_turn("<think> Done. </think> Action: Answer\n<answer> B </answer>")
    assert (turn.action, turn.answer, turn.items) == ("Answer", "B", [])


@pytest.mark.parametrize(
    "block, problem",
    [
        ('[{"index": 1, "bbox_2d": [1, 2, 3], "label": "x"}]', "bbox_2d must be four finite numbers"),
        ('[{"index": 1, "bbox_2d": [1, 2, NaN, 4], "label": "x"}]', "bbox_2d must be four finite numbers"),
        ('[{"index": 1, "bbox_2d": [1, 2, 3, 4]}]', "missing or empty label"),
        ('[{"index": "one", "bbox_2d": [1, 2, 3, 4], "label": "x"}]', "index must be an integer"),
        ('[{"index": 1, "point": [1, 2], "label": "x"}]', "neither bbox_2d nor"),
        ('[{"index": 1, "bbox_2d": [1, 2, 3, 4], "label": "x"', "not valid JSON"),
        ('"just a string"', "expected a list of items"),
        ("[42]", "expected an object"),
    ],
)
def test_parse_reports_bad_items_and_keeps_going(block, problem):
    turn = parse_turn(f"Action: Object Mapper\n```json\n{block}\n```")
    assert turn.items == []
    assert any(problem in text for text in turn.problems), turn.problems


@settings(max_examples=300)
@given(st.text())
def test_parse_never_raises_on_arbitrary_text(text):
    parse_turn(text)


@settings(max_examples=200)
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
                    max_leaves=12))
def test_parse_never_raises_on_arbitrary_json_blocks(value):
    import json

    turn = parse_turn(f"Action: Path Tracer\n```json\n{json.dumps(value)}\n```")
    for item in turn.items:
        assert isinstance(item, (BoxCall, LineCall)) and item.label
