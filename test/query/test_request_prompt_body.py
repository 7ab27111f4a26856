"""A request carrying a benchmark's verbatim prompt body: validated, passed through, wrapped unchanged."""

import pytest

from vilasr_ros.config import QueryConfig
from vilasr_ros.core.question import AnswerType
from vilasr_ros.query.request import MAX_PROMPT_BODY_CHARS, QueryError, QueryRequest, resolve_request
from vilasr_ros.reasoning.protocol import ImageRef, first_user_content

TEMPLATE_HEAD = "\n### Question:\n"
TEMPLATE_TAIL = (
    "\n\nBegin your reasoning. After each tool use, critically evaluate the visualization and adjust if needed:\n"
)
BODY = "Which is nearer? A. lamp B. sofa \n\nThe index of the given image is 1.\nAnswer with the option's letter."


def resolve(**fields):
    return resolve_request(QueryRequest(**{"question": "Which is nearer?", **fields}), QueryConfig())


def test_multiple_choice_without_options_needs_the_options_in_a_body():
    with pytest.raises(QueryError, match="at least two options"):
        resolve(answer_type=AnswerType.MULTIPLE_CHOICE)
    query = resolve(answer_type=AnswerType.MULTIPLE_CHOICE, prompt_body=BODY)
    assert query.answer_type is AnswerType.MULTIPLE_CHOICE and query.options == () and query.prompt_body == BODY


def test_options_beside_a_body_are_kept_as_written():
    query = resolve(answer_type=AnswerType.MULTIPLE_CHOICE, options=("(A) lamp", "(B) sofa"), prompt_body=BODY)
    assert query.options == ("(A) lamp", "(B) sofa")
    assert resolve(options=("lamp", "sofa")).options == ("A. lamp", "B. sofa")  # the node's own path: lettered


def test_bad_bodies_are_refused():
    with pytest.raises(QueryError, match="blank"):
        resolve(prompt_body=" \n ")
    with pytest.raises(QueryError, match=f"at most {MAX_PROMPT_BODY_CHARS}"):
        resolve(prompt_body="x" * (MAX_PROMPT_BODY_CHARS + 1))
    with pytest.raises(QueryError, match="options were given"):
        resolve(answer_type=AnswerType.NUMERIC, options=("1", "2"), prompt_body=BODY)


@pytest.mark.parametrize("video", [False, True])
def test_the_body_is_wrapped_verbatim_in_every_layout(video):
    one = [ImageRef(1, 224, 168)]
    content = first_user_content(one, "ignored", AnswerType.MULTIPLE_CHOICE, ("A. x", "B. y"), video=video, body=BODY)
    assert content[-1] == TEMPLATE_HEAD + BODY + TEMPLATE_TAIL
    # One image: the bare image (single-view branch), or with its index line (multi-view / video layout).
    assert content[:-1] == (
        [one[0], "The index of the given image is 1 (width: 224, height: 168).\n"] if video else one
    )
    two = [ImageRef(1, 224, 168), ImageRef(2, 168, 224)]
    content = first_user_content(two, "ignored", AnswerType.NUMERIC, video=video, body=BODY)
    assert content == [
        two[0],
        "The index of the given image is 1 (width: 224, height: 168).\n",
        two[1],
        "The index of the given image is 2 (width: 224, height: 168).\n",
        TEMPLATE_HEAD + BODY + TEMPLATE_TAIL,
    ]
