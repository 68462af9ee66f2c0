FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY digest ./digest
COPY tasks ./tasks
COPY templates ./templates
RUN pip install --no-cache-dir .
# Templates are read from the source tree, so keep it as the working directory.
ENV DIGEST_TEMPLATES_DIR=/app/templates
ENTRYPOINT ["digest"]
CMD ["--help"]
