"""Alert rules on the chat service's symptoms; each links to the dashboard panel that shows them."""

from dashboards import chat_logs, chat_overview, service_health
from dashboards.core import APP_JOB, LOG_STREAM, LOKI_UID, PROMETHEUS_UID, AlertRule, RuleGroup

JOB = f'job="{APP_JOB}"'


def rate_5m(metric: str) -> str:
    return f"sum(rate({metric}{{{JOB}}}[5m]))"


service = RuleGroup(
    title="chat-service",
    interval_s=30,
    rules=[
        AlertRule(
            uid="chat-app-down",
            title="Chat app down",
            summary="Chat instance {{ $labels.instance }} is down",
            description="Prometheus cannot scrape the chat app (up == 0), or no chat target exists at all.",
            runbook_anchor="chat-app-down",
            severity="critical",
            expr=f"up{{{JOB}}}",
            datasource_uid=PROMETHEUS_UID,
            op="lt",
            threshold=1,
            pending_for="1m",
            no_data_state="Alerting",  # no `up` series at all: the target vanished (absent)
            exec_err_state="Error",
            dashboard=service_health.dashboard,
            panel_title="Up",
        ),
        AlertRule(
            uid="chat-rejected-frames-high",
            title="High rejected-frame ratio",
            summary="More than 20% of inbound frames are rejected",
            description="Share of inbound frames rejected over 5m: {{ humanizePercentage $values.B.Value }}.",
            runbook_anchor="high-rejected-frame-ratio",
            severity="warning",
            expr=f"{rate_5m('chat_frames_rejected_total')}"
            f" / ({rate_5m('chat_messages_received_total')} + {rate_5m('chat_frames_rejected_total')})",
            datasource_uid=PROMETHEUS_UID,
            op="gt",
            threshold=0.2,
            pending_for="5m",
            no_data_state="OK",  # no traffic: nothing is being rejected
            exec_err_state="Error",
            dashboard=chat_overview.dashboard,
            panel_title="Rejected frames by reason",
        ),
        AlertRule(
            uid="chat-broadcast-p99-slow",
            title="Broadcast p99 too slow",
            summary="99th percentile broadcast duration above 250 ms",
            description="p99 time to fan a message out over 5m: {{ humanizeDuration $values.B.Value }}.",
            runbook_anchor="broadcast-p99-too-slow",
            severity="warning",
            expr="histogram_quantile(0.99, sum by (le) "
            f"(rate(chat_broadcast_duration_seconds_bucket{{{JOB}}}[5m])))",
            datasource_uid=PROMETHEUS_UID,
            op="gt",
            threshold=0.25,
            pending_for="5m",
            no_data_state="OK",  # no broadcasts in the window
            exec_err_state="Error",
            dashboard=chat_overview.dashboard,
            panel_title="Broadcast duration (p50, p95, p99)",
        ),
        AlertRule(
            uid="chat-replica-cut-off",
            title="Replica cut off from the broker",
            summary="Chat replica {{ $labels.instance }} is not subscribed to Redis",
            description="The replica serves only its own clients: their messages do not reach the other "
            "replicas, and theirs do not reach it (counted in chat_cluster_messages_lost_total).",
            runbook_anchor="replica-cut-off-from-the-broker",
            severity="critical",
            # 1 for a replica (CHAT_REDIS_URL set) that is not subscribed; 0 when it is, and for a single
            # process, whose chat_cluster_replica is 0.
            expr=f"chat_cluster_replica{{{JOB}}} - chat_cluster_broker_connected{{{JOB}}}",
            datasource_uid=PROMETHEUS_UID,
            op="gt",
            threshold=0,
            pending_for="1m",  # a Redis restart or failover reconnects within seconds
            no_data_state="OK",  # no chat series at all is chat-app-down's to report
            exec_err_state="Error",
            dashboard=service_health.dashboard,
            panel_title="Broker connected",
        ),
    ],
)

logs = RuleGroup(
    title="chat-logs",
    interval_s=60,
    rules=[
        AlertRule(
            uid="chat-log-shipper-dropping",
            title="Log shipper dropping lines",
            summary="The chat log shipper dropped log lines",
            description="Log lines lost on their way to Loki in the last 5m: {{ $values.B.Value }}.",
            runbook_anchor="log-shipper-dropping-lines",
            severity="warning",
            expr=f"sum(increase(chat_log_shipper_lines_dropped_total{{{JOB}}}[5m]))",
            datasource_uid=PROMETHEUS_UID,
            op="gt",
            threshold=0,
            pending_for="0s",  # every lost line is worth knowing about
            no_data_state="OK",
            exec_err_state="Error",
            dashboard=chat_logs.dashboard,
            panel_title="Lines dropped by reason",
        ),
        AlertRule(
            uid="chat-error-log-spike",
            title="Error-log spike",
            summary="More than 10 error log lines in 5 minutes",
            description="Chat error and critical log lines in the last 5m: {{ $values.B.Value }}.",
            runbook_anchor="error-log-spike",
            severity="critical",
            expr=f'sum(count_over_time({{{LOG_STREAM}, level=~"error|critical"}}[5m]))',
            datasource_uid=LOKI_UID,
            op="gt",
            threshold=10,
            pending_for="1m",
            no_data_state="OK",  # Loki returns no series when there are no error lines
            exec_err_state="Error",
            dashboard=chat_logs.dashboard,
            panel_title="Recent errors",
        ),
    ],
)
