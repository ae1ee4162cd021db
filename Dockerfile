# Qunke (群客) image: `qunke serve` as a non-root user on python:3.11-slim.
# Build: docker build -t qunke .      Run with SQLite: docker run -p 8080:8080 --env-file qunke.env -v qunke:/var/lib/qunke qunke
# Several replicas on PostgreSQL: deploy/docker-compose.yml (docs/DEPLOY.md §8).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot bot
COPY handlers handlers
COPY campaigns campaigns
COPY services services
COPY storage storage
COPY console console
COPY sandbox sandbox
# Wheels for Qunke and every dependency, so the runtime stage needs no compiler and no network of its own.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/qunke --create-home --shell /usr/sbin/nologin qunke
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels qunke && rm -rf /wheels
# The default config (every key documented inline) and the example knowledge base it imports into an empty KB.
WORKDIR /opt/qunke
COPY config.yaml ./config.yaml
COPY kb ./kb
# MALLOC_ARENA_MAX=2: glibc's per-thread arenas (the aiosqlite and executor threads) kept freed memory as resident
# growth; two arenas halved the growth under load (bench/RESULTS.md, "bench/memory_growth.py").
ENV QUNKE_CONFIG=/opt/qunke/config.yaml \
    QUNKE_DATABASE_URL=sqlite+aiosqlite:////var/lib/qunke/qunke.db \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2
VOLUME ["/var/lib/qunke"]
USER qunke
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
# SIGTERM drains in-flight work before exit (docker stop's default signal).
STOPSIGNAL SIGTERM
CMD ["qunke", "serve", "--host", "0.0.0.0", "--port", "8080"]
