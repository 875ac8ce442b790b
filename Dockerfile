# The chat service image: one gevent process serving the chat page, the websocket, /metrics, /dashboards
# and the Grafana alert webhook. Built by `docker compose up --build` (service `app`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/chat

# Dependencies first, so code edits do not invalidate the pip layer.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY app/ ./app/
# The embeddable panels list written by `python -m scripts.render` (read by /dashboards at start-up).
COPY provisioning/grafana/embeds.json ./provisioning/grafana/embeds.json

# Never run as root: a dedicated system user without a shell or home directory writes nothing but logs.
RUN useradd --system --no-create-home --shell /usr/sbin/nologin chat
USER chat

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]

CMD ["python", "-m", "app", "--host", "0.0.0.0", "--port", "8000"]
