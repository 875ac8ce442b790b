"""Names people can trust, through a real server: a look-alike of a taken name is taken, a hidden
character is refused, and what others read is the normalised name."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.chat_client import ChatClient

TAKEN = "canary"
LOOK_ALIKES = {
    "fullwidth": "\uff43\uff41\uff4e\uff41\uff52\uff59",  # fullwidth "canary"
    "Cyrillic es and a": "\u0441\u0430nary",
    "Greek alpha": "c\u03b1nary",
    "upper case": "CANARY",
}
HIDDEN = {
    "zero-width joiner": "can\u200dary",
    "right-to-left override": "\u202ecanary",
    "a control character": "can\u0007ary",
}


def join_answer(client: ChatClient, name: str) -> tuple[str, str | None]:
    client.send({"type": "join", "name": name})
    answer = client.recv()
    return answer["type"], answer.get("code")


@pytest.fixture
def base_url(start_app: Callable[..., str]) -> str:
    return start_app()


@pytest.mark.parametrize("raw", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_look_alike_of_a_taken_name_is_refused_as_taken(
    base_url: str, connect: Callable[..., ChatClient], raw: str
) -> None:
    assert connect(base_url).join(TAKEN)["type"] == "welcome"
    assert join_answer(connect(base_url), raw) == ("error", "name_taken")


@pytest.mark.parametrize("raw", HIDDEN.values(), ids=HIDDEN.keys())
def test_a_name_with_a_hidden_character_is_refused(
    base_url: str, connect: Callable[..., ChatClient], raw: str
) -> None:
    assert join_answer(connect(base_url), raw) == ("error", "invalid_name")


def test_others_read_the_normalised_name(base_url: str, connect: Callable[..., ChatClient]) -> None:
    reader = connect(base_url)
    reader.join("reader")
    welcome = connect(base_url).join("\uff42\uff4f\uff42")  # fullwidth "bob"
    assert welcome["name"] == "bob"
    assert reader.recv() == {"type": "joined", "name": "bob", "clients": 2}
