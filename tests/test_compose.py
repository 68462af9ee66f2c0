"""docker-compose.yml, the Dockerfile and .env.example hold together as the README says (no Docker engine needed).

CI also runs `docker-compose config -q` on the file, which checks it against the Compose schema; these
tests check what the schema cannot: which services wait for which, what they run, what the image is.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]


def readme_compose_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^### Docker Compose\n(.*?)(?=^#{1,3} )", readme, re.M | re.S)
    assert match, "the README has no Docker Compose section"
    return match.group(1)


def as_list(value) -> list[str]:
    return value.split() if isinstance(value, str) else list(value or [])


def test_every_service_the_readme_names_exists(services):
    section = readme_compose_section()
    listed = re.search(r"The services: (.*?)\. The image", section, re.S)
    assert listed, section
    named = set(re.findall(r"`([a-z]+)`", listed.group(1)))
    used = set(re.findall(r"docker compose (?:run --rm|logs -f|logs|exec|restart) ([a-z]+)", section))
    assert {"postgres", "redis", "mailpit", "migrate", "web", "worker", "beat"} <= named
    assert used and (named | used) <= set(services), sorted((named | used) - set(services))


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_the_long_running_services_start_after_migrate_succeeded_and_restart(services, name):
    service = services[name]
    assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert service["restart"] in ("unless-stopped", "always")


def test_migrate_runs_init_once_after_postgres_is_ready(services):
    migrate = services["migrate"]
    assert as_list(migrate["command"]) == ["init"] and "entrypoint" not in migrate
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["postgres"]["healthcheck"]["test"][-1].startswith("pg_isready")
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_web_serves_on_every_interface_publishes_its_port_and_checks_a_real_endpoint(services):
    web = services["web"]
    command = as_list(web["command"])
    assert command[0] == "serve" and command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert any(str(p).split(":")[-1] == port for p in web["ports"])
    check = " ".join(web["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/healthz" in check and "python" in check


def test_worker_and_beat_use_the_app_inside_the_package(services):
    assert as_list(services["worker"]["entrypoint"])[:4] == ["celery", "-A", "digest.worker", "worker"]
    assert as_list(services["beat"]["entrypoint"])[:4] == ["celery", "-A", "digest.worker", "beat"]
    assert "digest.worker inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])


@pytest.mark.parametrize("name", ["migrate", "web", "worker", "beat"])
def test_the_digest_services_talk_to_the_compose_containers_with_a_shared_secret(services, name):
    service = services[name]
    env = service["environment"]
    assert service["build"] == "." and service["env_file"] == [".env"]
    assert env["DIGEST_DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres/" in env["DIGEST_DATABASE_URL"]
    assert env["DIGEST_BROKER_URL"].startswith("redis://redis:")
    assert env["DIGEST_SMTP_URL"].startswith("smtp://mailpit:")
    # Interpolated with :? so compose refuses to start without one, rather than each service making up its own.
    assert env["DIGEST_SECRET_KEY"].startswith("${DIGEST_SECRET_KEY:?")


def test_env_example_starts_the_compose_service_and_says_to_change_the_secret():
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    values = dotenv_values(ROOT / ".env.example")
    assert len(values["DIGEST_SECRET_KEY"]) >= 16
    # The comment block right above the key tells the reader to change it.
    above = example.split("\nDIGEST_SECRET_KEY=", 1)[0].rsplit("\n\n", 1)[-1]
    assert "change it" in above.lower(), above
    assert values["DIGEST_BASE_URL"] == "http://localhost:8000"


def test_the_image_installs_a_built_wheel_and_runs_as_a_user_that_is_not_root():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line.strip() for line in dockerfile.splitlines() if line.strip() and not line.startswith("#")]
    assert "DIGEST_TEMPLATES_DIR" not in dockerfile
    assert any(line.startswith("RUN pip wheel") for line in instructions)
    assert any(re.match(r"RUN pip install .*\.whl", line) for line in instructions)
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0") and not users[-1].startswith(("root:", "0:"))
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert "COPY digest" not in final_stage and "COPY templates" not in final_stage  # no source tree in the image
    assert 'ENTRYPOINT ["digest"]' in instructions


def test_the_build_context_leaves_out_local_state():
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", "outbox", "*.db", ".env", ".digest-secret", "test-artifacts", "tests"} <= ignored
