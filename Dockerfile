# digest as users install it: a wheel built from this checkout, installed into a clean image, run as
# an unprivileged user. The image holds no source tree; the templates travel inside the wheel.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY digest ./digest
COPY tasks ./tasks
COPY templates ./templates
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir /tmp/wheels/digest-*.whl && rm -rf /tmp/wheels
# The working directory is where the defaults write (digest.db, outbox/, .digest-secret) and
# where beat keeps its schedule, so it belongs to the user that runs digest.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/digest --create-home --shell /usr/sbin/nologin digest
USER digest
WORKDIR /var/lib/digest
EXPOSE 8000
ENTRYPOINT ["digest"]
CMD ["--help"]
