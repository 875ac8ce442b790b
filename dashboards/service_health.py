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

dashboard = ChatDashboard(
    uid="chat-service-health",
    title="Chat service health",
    description="Is every chat instance scraped, and how much CPU, memory and file descriptors does it use.",
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
