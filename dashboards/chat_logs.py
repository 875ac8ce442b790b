"""Chat logs: the Loki stream with level filter, log volume, recent errors and the log shipper's health."""

from dashboards.core import (
    LOG_LEVELS,
    LOG_STREAM,
    LOKI,
    UNIT_COUNT,
    UNIT_PER_SECOND,
    ChatDashboard,
    CustomVariable,
    Logs,
    LokiTarget,
    PromTarget,
    QueryVariable,
    Row,
    TimeSeries,
    grid,
    rate,
    selector,
)

STREAM = "{" + LOG_STREAM + ', env=~"$env", level=~"$level"}'
ERROR_STREAM = "{" + LOG_STREAM + ', env=~"$env", level=~"error|critical"}'

dashboard = ChatDashboard(
    uid="chat-logs",
    title="Chat logs",
    description="The chat service's logs in Loki and the health of the shipper that sends them.",
    tags=["logs"],
    variables=[
        QueryVariable("env", "Environment", f"label_values({{{LOG_STREAM}}}, env)", LOKI),
        CustomVariable("level", "Level", LOG_LEVELS),
    ],
    panels=grid(
        Row(
            title="Logs",
            height=12,
            panels=[
                Logs(
                    title="Log stream",
                    description="Chat log lines of the selected environments and levels, newest first.",
                    targets=[LokiTarget(expr=STREAM, maxLines=1000)],
                )
            ],
        ),
        Row(
            title="Volume and errors",
            height=9,
            panels=[
                TimeSeries(
                    title="Log volume by level",
                    description="Log lines per interval, by level.",
                    unit=UNIT_COUNT,
                    drawStyle="bars",
                    fillOpacity=80,
                    stacking={"mode": "normal", "group": "A"},
                    targets=[
                        LokiTarget(
                            expr=f"sum by (level) (count_over_time({STREAM} [$__interval]))",
                            legendFormat="{{level}}",
                        )
                    ],
                    embeddable=True,
                ),
                Logs(
                    title="Recent errors",
                    description="The latest error and critical log lines.",
                    targets=[LokiTarget(expr=ERROR_STREAM, maxLines=200)],
                ),
            ],
        ),
        Row(
            title="Log shipper",
            panels=[
                TimeSeries(
                    title="Lines sent to Loki",
                    description="Log lines Loki accepted.",
                    unit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum({rate('chat_log_shipper_lines_sent_total')})", legendFormat="sent"
                        )
                    ],
                ),
                TimeSeries(
                    title="Lines dropped by reason",
                    description="Log lines lost on the way to Loki: queue full, retries exhausted, rejected.",
                    unit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum by (reason) ({rate('chat_log_shipper_lines_dropped_total')})",
                            legendFormat="{{reason}}",
                        )
                    ],
                    embeddable=True,
                ),
                TimeSeries(
                    title="Push retries",
                    description="Pushes to Loki retried after a retryable failure.",
                    unit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum({rate('chat_log_shipper_retries_total')})", legendFormat="retries"
                        )
                    ],
                ),
                TimeSeries(
                    title="Shipper queue depth",
                    description="Log lines waiting in the shipper's bounded queue, per instance.",
                    unit=UNIT_COUNT,
                    targets=[
                        PromTarget(expr=selector("chat_log_shipper_queue_lines"), legendFormat="{{instance}}")
                    ],
                ),
            ],
        ),
    ),
)
