"""The JSON line format, the v1 push payload, settings parsing, and the strict Loki receiver's own rules."""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import time
import urllib.error
import urllib.request

import pytest
from logging_loki.emitter import LokiEmitterV1

from app.config import ConfigError
from app.logformat import JsonLineFormatter
from app.logship import (
    MAX_LINE_BYTES,
    STREAM_LABEL_NAMES,
    Batch,
    LogConfigError,
    install_logging,
    push_url_from,
    record_time_ns,
    sanitize_label_name,
    stream_labels,
    truncate_line,
)
from app.metrics import ChatMetrics
from tests.support.loki_receiver import LokiReceiver

RFC3339_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def make_record(
    msg: str = "hello %s", args: tuple[object, ...] = ("bob",), **extra: object
) -> logging.LogRecord:
    record = logging.getLogger("chat.ws").makeRecord("chat.ws", logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def formatted(record: logging.LogRecord) -> dict[str, object]:
    line = JsonLineFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def test_line_has_core_fields_then_extras():
    record = make_record(event="join", room="lobby", count=3)
    record.created = 1_700_000_000.1234
    fields = formatted(record)
    assert fields == {
        "ts": "2023-11-14T22:13:20.123Z",
        "level": "warning",
        "logger": "chat.ws",
        "msg": "hello bob",
        "event": "join",
        "room": "lobby",
        "count": 3,
    }
    assert list(fields)[:4] == ["ts", "level", "logger", "msg"]


def test_extras_that_json_cannot_encode_are_repr_not_a_crash():
    cycle: list[object] = []
    cycle.append(cycle)
    fields = formatted(make_record(obj=object(), nan=math.nan, cycle=cycle, when=time.gmtime(0)))
    assert fields["obj"].startswith("<object object at")
    assert fields["nan"] == "nan"
    assert fields["cycle"] == "[[...]]"
    assert RFC3339_MS.fullmatch(fields["ts"])


def test_bad_format_args_keep_the_message_instead_of_raising():
    fields = formatted(make_record("%d users", ("many",)))
    assert "'%d users'" in fields["msg"] and "'many'" in fields["msg"]


def test_extra_named_like_a_core_field_is_kept_under_a_prefix():
    fields = formatted(make_record(level="custom"))
    assert fields["level"] == "warning" and fields["extra_level"] == "custom"


def test_exception_text_goes_in_exc():
    try:
        raise KeyError("room")
    except KeyError:
        record = logging.getLogger("chat").makeRecord(
            "chat", logging.ERROR, "f", 1, "failed", (), sys.exc_info()
        )
    fields = formatted(record)
    assert fields["msg"] == "failed"
    assert fields["exc"].startswith("Traceback") and "KeyError: 'room'" in fields["exc"]


def test_short_lines_are_not_touched_by_truncation():
    line = JsonLineFormatter().format(make_record())
    assert truncate_line(line) is line


@pytest.mark.parametrize(
    "big_extras",
    [
        {"msg_arg": 'quote " backslash \\ ' * 30_000},
        {"payload": {"k": ['é\n"' * 50_000]}},
        {"a": "x" * 200_000, "b": "y" * 200_000, "c": list(range(50_000))},
    ],
    ids=["escaped-string", "nested-dict", "several-fields"],
)
def test_oversized_lines_are_cut_to_valid_marked_json(big_extras):
    record = make_record("m" * 300_000, ())
    record.__dict__.update(big_extras)
    line = JsonLineFormatter().format(record)
    assert len(line.encode()) > MAX_LINE_BYTES

    cut = truncate_line(line)

    assert len(cut.encode()) <= MAX_LINE_BYTES
    fields = json.loads(cut)
    assert fields["truncated"] is True and fields["original_bytes"] == len(line.encode())
    assert fields["ts"] and fields["level"] == "warning"
    assert any(isinstance(v, str) and v.endswith("...[truncated]") for v in fields.values())


def test_truncation_keeps_as_much_as_fits():
    line = JsonLineFormatter().format(make_record("z" * 400_000, ()))
    fields = json.loads(truncate_line(line))
    assert fields["msg"].startswith("zzz") and len(fields["msg"]) > MAX_LINE_BYTES - 1000


def test_push_body_is_the_v1_format_with_values_sorted_by_time():
    batch = Batch()
    batch.add("info", 300, "c")
    batch.add("error", 200, "e")
    batch.add("info", 100, "a")
    batch.add("info", 200, "b")

    body = json.loads(batch.push_body(stream_labels("prod")))

    assert body == {
        "streams": [
            {
                "stream": {"app": "chat", "env": "prod", "level": "info"},
                "values": [["100", "a"], ["200", "b"], ["300", "c"]],
            },
            {"stream": {"app": "chat", "env": "prod", "level": "error"}, "values": [["200", "e"]]},
        ]
    }


def test_push_body_has_the_shape_python_logging_loki_sends_with_version_1():
    record = make_record("hello %s", ("loki",))
    library = LokiEmitterV1(url="", tags={"app": "chat"}).build_payload(record, "line")
    batch = Batch()
    batch.add("info", record_time_ns(record), "line")
    ours = json.loads(batch.push_body(stream_labels("dev")))

    def shape(payload: dict) -> list[tuple[object, ...]]:
        return [
            (
                sorted(stream),
                sorted(map(type, stream["stream"].values()), key=str),
                [list(map(type, v)) for v in stream["values"]],
            )
            for stream in payload["streams"]
        ]

    assert list(ours) == list(library) == ["streams"]
    assert shape(ours) == shape(library)
    assert ours["streams"][0]["values"][0][1] == library["streams"][0]["values"][0][1] == "line"
    # The library stamps the send time; ours is the record's creation time, in the same decimal-ns form.
    assert ours["streams"][0]["values"][0][0] == str(int(record.created * 1e9))


def test_label_names_are_sanitised_with_the_library_rules_plus_the_leading_digit_rule():
    assert [sanitize_label_name(name) for name in STREAM_LABEL_NAMES] == list(STREAM_LABEL_NAMES)
    assert sanitize_label_name("room-id") == "room_id"
    assert sanitize_label_name("user.name") == "user_name"
    assert sanitize_label_name("1st") == "_1st"
    assert sanitize_label_name("--") == "__"
    assert sanitize_label_name("'\"") == "_"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://loki:3100", "http://loki:3100/loki/api/v1/push"),
        ("http://loki:3100/", "http://loki:3100/loki/api/v1/push"),
        ("https://logs.example/loki/api/v1/push", "https://logs.example/loki/api/v1/push"),
        ("http://u:p@gw/tenant-a", "http://u:p@gw/tenant-a/loki/api/v1/push"),
    ],
)
def test_loki_url_may_be_the_base_or_the_push_url(given, expected):
    assert push_url_from(given) == expected


@pytest.mark.parametrize("bad", ["loki:3100", "ftp://loki", "http://", "", "http://loki:31OO"])
def test_a_bad_loki_url_is_a_clear_config_error(bad):
    with pytest.raises(LogConfigError, match="LOKI_URL must be an http"):
        push_url_from(bad)


def test_install_logging_rejects_bad_settings_before_touching_logging():
    root_handlers = list(logging.getLogger().handlers)
    with pytest.raises(ConfigError, match="LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"):
        install_logging(metrics=ChatMetrics(), loki_url=None, env="dev", level="CRITICAL")
    with pytest.raises(LogConfigError, match="LOKI_URL must be an http"):
        install_logging(metrics=ChatMetrics(), loki_url="ftp://loki", env="dev")
    with pytest.raises(LogConfigError, match=r"APP_ENV must be 1\.\.2048 bytes"):
        install_logging(metrics=ChatMetrics(), loki_url="http://127.0.0.1:9", env="")
    assert logging.getLogger().handlers == root_handlers


def test_install_without_loki_writes_json_lines_to_stdout(capsys):
    shutdown = install_logging(metrics=ChatMetrics(), loki_url=None, env="dev", level="INFO")
    try:
        logging.getLogger("chat.test").info("only stdout", extra={"event": "e1"})
        logging.getLogger("chat.test").debug("below the level")
    finally:
        shutdown()
        shutdown()  # idempotent
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(f["msg"], f["event"], f["level"]) for f in lines] == [("only stdout", "e1", "info")]


# --- the receiver is strict: the shipper tests mean something only if it refuses what Loki refuses


def post(
    url: str, body: bytes, content_type: str = "application/json", method: str = "POST"
) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def push_body(labels: dict[str, object], values: list[object]) -> bytes:
    return json.dumps({"streams": [{"stream": labels, "values": values}]}).encode()


NOW_NS = str(time.time_ns())
GOOD_LABELS = {"app": "chat", "env": "t", "level": "info"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"streams": {}}', '"streams" list'),
        (push_body({}, [[NOW_NS, "x"]]), "non-empty object of labels"),
        (push_body({"1bad": "v"}, [[NOW_NS, "x"]]), "invalid label name"),
        (push_body({"bad-name": "v"}, [[NOW_NS, "x"]]), "invalid label name"),
        (push_body({f"l{i}": "v" for i in range(16)}, [[NOW_NS, "x"]]), "16 labels"),
        (push_body({"n" * 1025: "v"}, [[NOW_NS, "x"]]), "longer than 1024"),
        (push_body({"app": "v" * 2049}, [[NOW_NS, "x"]]), "longer than 2048"),
        (push_body({"app": 1}, [[NOW_NS, "x"]]), "must be a string"),
        (push_body(GOOD_LABELS, [[int(NOW_NS), "x"]]), "two strings"),
        (push_body(GOOD_LABELS, [[f"{time.time():.6f}", "x"]]), "decimal string of nanoseconds"),
        (push_body(GOOD_LABELS, [[str(time.time_ns() - 8 * 86400 * 10**9), "x"]]), "too far behind"),
        (push_body(GOOD_LABELS, [[str(time.time_ns() + 3600 * 10**9), "x"]]), "too new"),
        (push_body(GOOD_LABELS, [[NOW_NS, "x" * (256 * 1024 + 1)]]), "line too long"),
        (push_body(GOOD_LABELS, [[NOW_NS, "b"], [str(int(NOW_NS) - 1), "a"]]), "out of order"),
        # python-logging-loki's default v0 payload, which a current Loki refuses
        (b'{"streams": [{"labels": "{app=\\"chat\\"}", "entries": [{"ts": "x", "line": "y"}]}]}', "labels"),
    ],
)
def test_receiver_answers_400_with_the_reason_like_loki(body, reason):
    with LokiReceiver() as loki:
        status, text = post(loki.push_url, body)
        assert (status, loki.entries) == (400, [])
        assert reason in text


def test_receiver_accepts_a_valid_push_and_refuses_other_methods_paths_and_types():
    with LokiReceiver() as loki:
        assert post(loki.push_url, push_body(GOOD_LABELS, [[NOW_NS, "ok"]])) == (204, "")
        assert [(e.labels, e.time_ns, e.line) for e in loki.entries] == [(GOOD_LABELS, int(NOW_NS), "ok")]
        assert (
            post(loki.push_url, push_body(GOOD_LABELS, []), content_type="application/x-protobuf")[0] == 400
        )
        assert post(loki.url + "/api/prom/push", b"{}")[0] == 404
        assert post(loki.push_url, b"", method="GET")[0] == 405
