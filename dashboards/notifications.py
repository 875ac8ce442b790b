"""Where alerts go: the chat app's alert webhook, sooner and more often for critical alerts."""

from dashboards.core import ContactPoint, NotificationPolicy, Route

# The compose stack's app; the bearer token is a placeholder (see core.alerting.WEBHOOK_TOKEN_PLACEHOLDER).
chat_webhook = ContactPoint(uid="chat-webhook", name="chat-webhook", url="http://app:8000/api/alerts/grafana")

policy = NotificationPolicy(
    receiver=chat_webhook,
    group_by=["grafana_folder", "alertname"],
    routes=[
        Route(
            receiver=chat_webhook,
            object_matchers=[("severity", "=", "critical")],
            group_wait="10s",
            group_interval="1m",
            repeat_interval="30m",
        ),
        Route(
            receiver=chat_webhook,
            object_matchers=[("severity", "=", "warning")],
            group_wait="1m",
            group_interval="5m",
            repeat_interval="4h",
        ),
    ],
)
