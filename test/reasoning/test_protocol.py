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


def test_answer_suffixes_and_options():
    assert protocol.answer_suffix(AnswerType.MULTIPLE_CHOICE) == (
        "\nAnswer with the option's letter from the given choices directly."
    )
    assert protocol.answer_suffix(AnswerType.NUMERIC) == (
        "\nPlease answer the question using a single word or phrase (e.g., 42 or 3.14)."
    )
    assert protocol.answer_suffix(AnswerType.FREE_FORM) == ""
    assert protocol.question_with_options("Which?", ("A. chair", "B. door")) == "Which?\nA. chair\nB. door"


def test_first_user_turn_single_image_puts_the_index_line_before_the_suffix():
    content = protocol.first_user_content(
        [ImageRef(1, 784, 420)], "Where?", AnswerType.MULTIPLE_CHOICE, ("A. left", "B. right")
    )
    assert content == [
        ImageRef(1, 784, 420),
        "\n### Question:\nWhere?\nA. left\nB. right\nThe index of the given image is 1.\n"
        "Answer with the option's letter from the given choices directly.\n\nBegin your reasoning. "
        "After each tool use, critically evaluate the visualization and adjust if needed:\n",
    ]


def test_first_user_turn_several_views_use_the_first_size_and_a_newline_before_the_suffix():
    refs = [ImageRef(1, 784, 420), ImageRef(2, 420, 784)]
    content = protocol.first_user_content(refs, "How far?", AnswerType.NUMERIC)
    assert content == [
        refs[0],
        "The index of the given image is 1 (width: 784, height: 420).\n",
        refs[1],
        "The index of the given image is 2 (width: 784, height: 420).\n",
        "\n### Question:\nHow far?\n\nPlease answer the question using a single word or phrase (e.g., 42 or 3.14)."
        "\n\nBegin your reasoning. After each tool use, critically evaluate the visualization and adjust if needed:\n",
    ]


def test_first_user_turn_video_frames():
    refs = [ImageRef(1, 784, 420), ImageRef(2, 420, 784)]
    content = protocol.first_user_content(refs, "Where?", video=True)
    assert content[:4] == [
        refs[0],
        "The index of the given image is 1 (width: 784, height: 420).\n",
        refs[1],
        "The index of the given image is 2 (width: 784, height: 420).\n",
    ]
    assert content[4] == (
        "\n### Question:\nThese are frames from a video, numbered from 1 to 2 in sequence. That is, the index of each "
        "image is 1, 2, 3, ..., 2.\n\nAnswer the quesntion with appropriate tools:\nWhere?\n\nBegin your reasoning. "
        "After each tool use, critically evaluate the visualization and adjust if needed:\n"
    )


def test_tool_result_turns():
    one = protocol.tool_result_content([ImageRef(3, 784, 420)], final=False)
    assert one == [
        ImageRef(3, 784, 420),
        "\nThe index of the given image is 3 (width: 784, height: 420). Continue your reasoning. "
        "After each tool use, critically evaluate the visualization and adjust if needed:\n",
    ]
    two = protocol.tool_result_content([ImageRef(3, 784, 420), ImageRef(4, 784, 420)], final=True)
    assert two[1] == "The index of the given image is 3 (width: 784, height: 420).\n"
    assert two[3] == (
        "The index of the given image is 4 (width: 784, height: 420). Then, you can not invoke the Object Mapper or "
        "Path Tracer tool. Please answer the initial question and structure your response as required:\n\n"
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
        ('[{"index": 1, "bbox_2d": [1, 2, 3, 4]}]', "has neither bbox_2d + label"),
        ('[{"index": 1, "point": [1, 2], "label": "x"}]', "has neither bbox_2d + label"),
        ('[{"index": 1, "bbox_2d": [1, 2, 3, 4], "label": "x"', "not a valid literal"),
        ('[{"index": 1, "bbox_2d": [1, 2, NaN, 4], "label": "x"}]', "not a valid literal"),
        ('[{"index": 1, "bbox_2d": [1, 2, 3, 4], "label": "x", "ok": true}]', "not a valid literal"),  # JSON-only
        ('{"index": 1, "bbox_2d": [1, 2, 3, 4], "label": "x"}', "expected a list of items"),
        ('"just a string"', "expected a list of items"),
        ("[42]", "expected an object"),
    ],
)
def test_parse_ignores_what_the_reference_ignores(block, problem):
    turn = parse_turn(f"Action: Object Mapper\n```json\n{block}\n```")
    assert turn.items == [] and turn.invalid == []
    assert any(problem in text for text in turn.problems), turn.problems


@pytest.mark.parametrize(
    "block, problem",
    [
        ('[{"index": 1, "bbox_2d": [1, 2, 3], "label": "x"}]', "bbox_2d must be four finite numbers"),
        ('[{"index": 1, "bbox_2d": [1, 2, 1e999, 4], "label": "x"}]', "bbox_2d must be four finite numbers"),
        ('[{"index": "one", "bbox_2d": [1, 2, 3, 4], "label": "x"}]', "index must be an integer"),
        ('[{"index": 1.0, "bbox_2d": [1, 2, 3, 4], "label": "x"}]', "index must be an integer"),
        ('[{"index": 1, "bbox_2d": [1, 2, 3, 4], "label": 5}]', "label must be a string"),
        ('[{"index": 1, "start_point_2d": [1], "end_point_2d": [1, 2], "label": "p"}]', "two finite numbers each"),
    ],
)
def test_parse_flags_tool_items_the_reference_would_choke_on(block, problem):
    turn = parse_turn(f"Action: Object Mapper\n```json\n{block}\n```")
    assert turn.items == []
    assert any(problem in text for text in turn.invalid), turn.invalid


@settings(max_examples=300)
@given(st.text())
def test_parse_never_raises_on_arbitrary_text(text):
    parse_turn(text)


@settings(max_examples=200)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=12,
    )
)
def test_parse_never_raises_on_arbitrary_json_blocks(value):
    import json

    turn = parse_turn(f"Action: Path Tracer\n```json\n{json.dumps(value)}\n```")
    for item in turn.items:
        assert isinstance(item, (BoxCall, LineCall)) and isinstance(item.label, str)
