# alertnet hub: multi-stage build, runs as a non-root user under gunicorn.
# The image runs the hub (the CMD below: upgrade the schema, then serve) or,
# given the command `alertnet worker`, a notification worker; compose.yaml
# runs both beside PostgreSQL and Redis (docs/operations.md).
# scripts/docker-steps.sh runs these same steps without a Docker engine, and the
# test suite runs that script, so this file stays true.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN python -m venv /venv
COPY requirements.lock ./
RUN /venv/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY crypto ./crypto
COPY schools ./schools
COPY network ./network
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
RUN /venv/bin/pip install --no-deps -e .

FROM python:3.11-slim-bookworm AS runtime
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin alertnet \
    && mkdir -p /data && chown alertnet /data
COPY --from=build /venv /venv
COPY --from=build /app /app
WORKDIR /app
USER alertnet
ENV PATH=/venv/bin:$PATH ALERTNET_INSTANCE=/data PYTHONDONTWRITEBYTECODE=1
VOLUME /data
EXPOSE 8000
# Liveness of the web process; a load balancer should ask /readyz instead.
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "alertnet db upgrade && exec alertnet serve --bind 0.0.0.0:8000"]
