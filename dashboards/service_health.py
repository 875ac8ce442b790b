"""Service health: scrape status, process resources and the Python runtime of the chat instances."""

from dashboards.core import (
    UNIT_BYTES,
    UNIT_COUNT,
    UNIT_NONE,
    UNIT_PER_SECOND,
    UNIT_RATIO,
    UNIT_SECONDS,
    ChatDashboard,
    Gauge,
    PromTarget,
    Row,
    Stat,
    Table,
    TimeSeries,
    grid,
    rate,
    selector,
    steps,
)

# Per replica: 1 when it runs with a broker (chat_cluster_replica) but is not subscribed to it.
CUT_OFF = f"{selector('chat_cluster_replica')} - {selector('chat_cluster_broker_connected')}"

dashboard = ChatDashboard(
    uid="chat-service-health",
    title="Chat service health",
    description="Is every chat instance scraped, how much CPU, memory and file descriptors does it use, "
    "and is every replica connected to the Redis broker.",
    tags=["health"],
    panels=grid(
        Row(
            title="Targets",
            height=6,
            widths=(6, 9, 9),
            panels=[
                Stat(
                    title="Instances up",
                    description="Chat instances whose last scrape succeeded.",
                    unit=UNIT_COUNT,
                    thresholds=steps("red", (1, "green")),
                    targets=[PromTarget(expr=f"sum({selector('up')})", legendFormat="up")],
                    embeddable=True,
                ),
                TimeSeries(
                    title="Up",
                    description="1 when the last scrape of the instance succeeded, 0 when it failed.",
                    unit=UNIT_NONE,
                    targets=[PromTarget(expr=selector("up"), legendFormat="{{instance}}")],
                ),
                TimeSeries(
                    title="Scrape duration",
                    description="How long Prometheus took to scrape /metrics of each instance.",
                    unit=UNIT_SECONDS,
                    targets=[
                        PromTarget(expr=selector("scrape_duration_seconds"), legendFormat="{{instance}}")
                    ],
                ),
            ],
        ),
        Row(
            title="Process",
            panels=[
                TimeSeries(
                    title="CPU usage",
                    description="CPU time used per second of wall time: 100% is one core.",
                    unit=UNIT_RATIO,
                    targets=[PromTarget(expr=rate("process_cpu_seconds_total"), legendFormat="{{instance}}")],
                    embeddable=True,
                ),
                TimeSeries(
                    title="Resident memory",
                    description="Resident set size of each chat process.",
                    unit=UNIT_BYTES,
                    targets=[
                        PromTarget(
                            expr=selector("process_resident_memory_bytes"), legendFormat="{{instance}}"
                        )
                    ],
                ),
                Gauge(
                    title="File descriptors in use",
                    description="Open file descriptors as a share of the process limit (highest instance).",
                    unit=UNIT_RATIO,
                    min=0,
                    max=1,
                    thresholds=steps("green", (0.7, "orange"), (0.9, "red")),
                    targets=[
                        PromTarget(
                            expr=f"max({selector('process_open_fds')} / {selector('process_max_fds')})",
                            legendFormat="fds",
                        )
                    ],
                ),
            ],
        ),
        Row(
            title="Cluster (Redis broker)",
            widths=(4, 6, 7, 7),
            panels=[
                Stat(
                    title="Replicas cut off",
                    description="Replicas (CHAT_REDIS_URL set) not subscribed to Redis: their clients see "
                    "only their own replica's events. 0 for a single process, which has no broker.",
                    unit=UNIT_COUNT,
                    thresholds=steps("green", (1, "red")),
                    targets=[
                        PromTarget(
                            expr=f"sum({CUT_OFF})",
                            legendFormat="cut off",
                        )
                    ],
                ),
                TimeSeries(
                    title="Broker connected",
                    description="1 while the replica is subscribed to Redis, 0 while it retries (backoff).",
                    unit=UNIT_NONE,
                    targets=[
                        PromTarget(
                            expr=selector("chat_cluster_broker_connected"), legendFormat="{{instance}}"
                        )
                    ],
                ),
                TimeSeries(
                    title="Events through the broker",
                    description="Chat messages and presence events each replica published to Redis, and "
                    "received from it (every replica's, its own included): received ≈ the sum of published.",
                    unit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum by (instance) ({rate('chat_cluster_messages_published_total')})",
                            legendFormat="{{instance}} published",
                        ),
                        PromTarget(
                            expr=f"sum by (instance) ({rate('chat_cluster_messages_received_total')})",
                            legendFormat="{{instance}} received",
                        ),
                    ],
                ),
                TimeSeries(
                    title="Broker errors and lost events",
                    description="Failed broker operations by reason, and events that did not cross the "
                    "broker: unpublished (sent while cut off: this replica's clients only) and missed "
                    "(a gap in another replica's sequence).",
                    unit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum by (instance, reason) ({rate('chat_cluster_broker_errors_total')})",
                            legendFormat="{{instance}} error {{reason}}",
                        ),
                        PromTarget(
                            expr=f"sum by (instance, reason) ({rate('chat_cluster_messages_lost_total')})",
                            legendFormat="{{instance}} lost {{reason}}",
                        ),
                    ],
                ),
            ],
        ),
        Row(
            title="Python runtime",
            panels=[
                TimeSeries(
                    title="GC collections by generation",
                    description="Garbage collector runs per second, by generation.",
                    unit=UNIT_PER_SECOND,
                    targets=[
                        PromTarget(
                            expr=f"sum by (generation) ({rate('python_gc_collections_total')})",
                            legendFormat="generation {{generation}}",
                        )
                    ],
                ),
                Table(
                    title="Python info",
                    description="Python implementation and version of each instance (python_info labels).",
                    unit=UNIT_NONE,
                    targets=[
                        PromTarget(
                            expr=selector("python_info"), format="table", instant=True, legendFormat=""
                        )
                    ],
                    transformations=[
                        {
                            "id": "organize",
                            "options": {"excludeByName": {"Time": True, "Value": True, "__name__": True}},
                        }
                    ],
                ),
            ],
        ),
    ),
)
