"""Chat overview: clients, message flow, rejections, connections and broadcast latency."""

from dashboards.core import (
    UNIT_COUNT,
    UNIT_NONE,
    UNIT_PER_SECOND,
    UNIT_SECONDS,
    BarGauge,
    ChatDashboard,
    Heatmap,
    PromTarget,
    Row,
    Stat,
    TimeSeries,
    grid,
    rate,
    selector,
)

BROADCAST_BUCKETS = rate("chat_broadcast_duration_seconds_bucket")


def broadcast_quantile(quantile: float) -> PromTarget:
    expr = f"histogram_quantile({quantile}, sum by (le) ({BROADCAST_BUCKETS}))"
    return PromTarget(expr=expr, legendFormat=f"p{round(quantile * 100)}")


dashboard = ChatDashboard(
    uid="chat-overview",
    title="Chat overview",
    description="Traffic, errors and latency of the websocket chat service.",
    tags=["websocket"],
    panels=grid(
        Row(
            title="Clients",
            height=6,
            widths=(6, 18),
            panels=[
                Stat(
                    title="Registered clients",
                    description="Clients that joined the chat and are connected now, summed over instances.",
                    unit=UNIT_COUNT,
                    targets=[
                        PromTarget(expr=f"sum({selector('registered_clients')})", legendFormat="clients")
                    ],
                    embeddable=True,
                ),
                TimeSeries(
                    title="Registered clients over time",
                    description="Registered clients per instance.",
                    unit=UNIT_COUNT,
                    targets=[PromTarget(expr=selector("registered_clients"), legendFormat="{{instance}}")],
                    embeddable=True,
                ),
            ],
        ),
        Row(
            title="Messages",
            panels=[
                TimeSeries(
                    title="Message rate in and out",
                    description="Messages accepted from clients (in) and queued to clients (out, fan-out).",
                    unit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum({rate('chat_messages_received_total')})", legendFormat="received"
                        ),
                        PromTarget(
                            expr=f"sum({rate('chat_messages_delivered_total')})", legendFormat="delivered"
                        ),
                    ],
                    embeddable=True,
                ),
                TimeSeries(
                    title="Fan-out deliveries per message",
                    description="Deliveries queued per accepted message: about the number of joined clients.",
                    unit=UNIT_NONE,
                    targets=[
                        PromTarget(
                            expr=f"sum({rate('chat_messages_delivered_total')})"
                            f" / sum({rate('chat_messages_received_total')})",
                            legendFormat="deliveries per message",
                        )
                    ],
                ),
            ],
        ),
        Row(
            title="Rejections and connections",
            panels=[
                TimeSeries(
                    title="Rejected frames by reason",
                    description="Inbound frames the server refused, by protocol error code.",
                    unit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum by (reason) ({rate('chat_frames_rejected_total')})",
                            legendFormat="{{reason}}",
                        )
                    ],
                ),
                TimeSeries(
                    title="Connection results",
                    description="Websocket connection outcomes: accepted, closed, evicted, timed out.",
                    unit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum by (result) ({rate('chat_connections_total')})",
                            legendFormat="{{result}}",
                        )
                    ],
                ),
                TimeSeries(
                    title="Door refusals",
                    description="Refused before the upgrade: over a cap, a bad handshake, a host.",
                    unit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum by (reason) ({rate('chat_door_refusals_total')})",
                            legendFormat="{{reason}}",
                        )
                    ],
                ),
                TimeSeries(
                    title="Slow-consumer evictions",
                    description="Clients dropped for an unsent backlog over the limit: slow readers only.",
                    unit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum({rate('chat_slow_consumer_evictions_total')})",
                            legendFormat="evictions",
                        )
                    ],
                ),
            ],
        ),
        Row(
            title="Broadcast latency",
            panels=[
                TimeSeries(
                    title="Broadcast duration (p50, p95, p99)",
                    description="Time to write one event-loop round of broadcasts to every joined client.",
                    unit=UNIT_SECONDS,
                    targets=[broadcast_quantile(q) for q in (0.5, 0.95, 0.99)],
                    embeddable=True,
                ),
                Heatmap(
                    title="Broadcast duration heatmap",
                    description="Broadcast rounds per second in each duration bucket.",
                    unit=UNIT_SECONDS,
                    cellUnit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum by (le) ({BROADCAST_BUCKETS})", format="heatmap", legendFormat="{{le}}"
                        )
                    ],
                ),
            ],
        ),
        Row(
            title="Message handling",
            panels=[
                BarGauge(
                    title="Message size distribution",
                    description="Accepted messages per second by size bucket (upper bound in UTF-8 bytes).",
                    unit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum by (le) ({rate('chat_message_size_bytes_bucket')})",
                            format="heatmap",
                            legendFormat="{{le}}",
                            instant=True,
                        )
                    ],
                ),
                TimeSeries(
                    title="Message handling time",
                    description="Mean time to handle one inbound frame, parse to fan-out (sum / count).",
                    unit=UNIT_SECONDS,
                    targets=[
                        PromTarget(
                            expr=f"sum({rate('chat_message_handling_seconds_sum')})"
                            f" / sum({rate('chat_message_handling_seconds_count')})",
                            legendFormat="mean",
                        )
                    ],
                ),
            ],
        ),
    ),
)
