# syntax=docker/dockerfile:1
# Build stage: a wheel with everything compiled; the runtime stage gets only the installed result.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY notifier ./notifier
COPY rules ./rules
RUN python -m venv /opt/notifier \
 && /opt/notifier/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/notifier/bin/pip install --no-cache-dir .

FROM python:3.11-slim
ENV TZ=UTC \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/notifier/bin:$PATH
RUN groupadd --system notifier && useradd --system --gid notifier --home-dir /var/lib/notifier notifier \
 && mkdir -p /etc/notifier /var/lib/notifier \
 && chown notifier:notifier /var/lib/notifier
COPY --from=build /opt/notifier /opt/notifier
COPY rules /etc/notifier/rules
COPY deploy/container.yaml /etc/notifier/notifier.yaml
COPY examples/notifier.yaml /etc/notifier/notifier.yaml.example
USER notifier
WORKDIR /var/lib/notifier
VOLUME ["/var/lib/notifier"]
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4).status == 200 else 1)"
STOPSIGNAL SIGTERM
ENTRYPOINT ["notifier", "run", "--config", "/etc/notifier/notifier.yaml"]
