"""Production: `check --deploy` is clean under production settings, unsafe settings fail loudly, the
compose file validates with Debian's docker-compose 1.29, and the README and .env.example match it."""

import ast
import json
import os
import re
import secrets
import shutil
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.helpers import gunicorn, run_manage, run_process

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"


# Only what a process needs to run; nothing from this session (DJANGO_ALLOW_ASYNC_UNSAFE, DATABASE_URL).
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def production_env(**overrides):
    env = {k: v for k, v in os.environ.items() if k in INHERITED}
    env.update(
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="watchpost.example.org",
        CSRF_TRUSTED_ORIGINS="https://watchpost.example.org",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="True",
        SECURE_HSTS_PRELOAD="True",
        TRUST_X_FORWARDED_PROTO="True",
        WATCHPOST_READ_DOTENV="0",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


# --- Settings -----------------------------------------------------------------------------------------


def test_check_deploy_has_no_warnings_under_production_settings():
    proc = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "System check identified no issues (0 silenced)." in proc.stdout
    assert "WARNINGS" not in proc.stdout + proc.stderr


def test_check_deploy_warns_when_hsts_is_left_off():
    """The HSTS setting is really consulted: leaving it at 0 is reported, not hidden."""
    proc = run_manage("check", "--deploy", env=production_env(SECURE_HSTS_SECONDS=None))
    assert "security.W004" in proc.stdout + proc.stderr


def test_check_deploy_with_the_env_example_only_warns_about_the_opt_in_hsts_flags():
    """.env.example as it is (with a real key): the only warnings left are the two HSTS widenings it
    leaves off on purpose (W005 subdomains, W021 preload)."""
    example = dict(re.findall(r"(?m)^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text()))
    example["SECRET_KEY"] = secrets.token_urlsafe(50)
    env = production_env(**{k: None for k in production_env() if k.startswith(("SECURE_", "CSRF_", "TRUST"))})
    env.update(example)
    proc = run_manage("check", "--deploy", env=env)
    assert proc.returncode == 0, proc.stderr
    warnings = set(re.findall(r"\(([a-z_]+\.[WE]\d+)\)", proc.stdout + proc.stderr))
    assert warnings == {"security.W005", "security.W021"}


def test_debug_false_without_allowed_hosts_fails_with_a_clear_message():
    proc = run_manage("check", env=production_env(ALLOWED_HOSTS=None))
    assert proc.returncode != 0
    assert "ALLOWED_HOSTS is not set" in proc.stderr
    assert "ALLOWED_HOSTS=watchpost.example.org" in proc.stderr


def test_production_settings_values():
    code = (
        "from django.conf import settings as s; import json; print(json.dumps({"
        "'debug': s.DEBUG, 'session': s.SESSION_COOKIE_SECURE, 'csrf': s.CSRF_COOKIE_SECURE, "
        "'redirect': s.SECURE_SSL_REDIRECT, 'hsts': s.SECURE_HSTS_SECONDS, "
        "'proxy': s.SECURE_PROXY_SSL_HEADER, 'static': s.STORAGES['staticfiles']['BACKEND'], "
        "'formatter': s.LOGGING['handlers']['console']['formatter'], "
        "'stream': s.LOGGING['handlers']['console']['stream']}))"
    )
    proc = run_manage("shell", "-c", code, env=production_env(LOG_LEVEL="WARNING"))
    assert proc.returncode == 0, proc.stderr

    values = json.loads(proc.stdout.strip().splitlines()[-1])
    assert values == {
        "debug": False,
        "session": True,
        "csrf": True,
        "redirect": True,
        "hsts": 31536000,
        "proxy": ["HTTP_X_FORWARDED_PROTO", "https"],
        "static": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "formatter": "json",
        "stream": "ext://sys.stdout",
    }


def test_production_logs_are_json_lines_on_stdout():
    code = "import logging; logging.getLogger('watchpost.test').warning('hello %s', 'world')"
    proc = run_manage("shell", "-c", code, env=production_env())
    assert proc.returncode == 0, proc.stderr

    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    hello = [r for r in records if r.get("logger") == "watchpost.test"]
    assert hello and hello[0]["message"] == "hello world" and hello[0]["level"] == "WARNING"
    assert "time" in hello[0]


# --- docker-compose.yml -------------------------------------------------------------------------------


def compose_service_blocks(text):
    """{service name: its lines} for the keys indented under the compose file's top-level `services:`."""
    blocks, inside, current = {}, False, None
    for line in text.splitlines():
        if re.match(r"^\S", line):
            inside, current = line.rstrip() == "services:", None
            continue
        m = re.match(r"^  ([A-Za-z0-9][A-Za-z0-9_.-]*):\s*(#.*)?$", line)
        if inside and m:
            current = m.group(1)
            blocks[current] = ""
        elif current:
            blocks[current] += line + "\n"
    return blocks


def compose_services(text):
    return list(compose_service_blocks(text))


def docker_compose_project(tmp_path):
    """The compose file in a directory of its own, with .env.example as its .env."""
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    return tmp_path


def run_docker_compose(project, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "WATCHPOST_", "COMPOSE_"))}
    command = [
        "docker-compose",
        "--project-directory",
        str(project),
        "-f",
        str(project / "docker-compose.yml"),
    ]
    return run_process([*command, *args], env=env, cwd=project)


def require_docker_compose():
    require_service(
        shutil.which("docker-compose") is not None,
        "docker-compose is not installed (apt-get install docker-compose)",
    )


@pytest.mark.slow
def test_docker_compose_config_validates(tmp_path):
    require_docker_compose()
    proc = run_docker_compose(docker_compose_project(tmp_path), "config", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ""

    services = run_docker_compose(tmp_path, "config", "--services")
    assert services.returncode == 0, services.stderr
    assert sorted(services.stdout.split()) == sorted(compose_services(COMPOSE_FILE.read_text()))


@pytest.mark.slow
def test_docker_compose_refuses_a_missing_database_password(tmp_path):
    require_docker_compose()
    project = docker_compose_project(tmp_path)
    env_file = project / ".env"
    env_file.write_text(re.sub(r"(?m)^POSTGRES_PASSWORD=.*$", "", env_file.read_text()))
    proc = run_docker_compose(project, "config", "-q")
    assert proc.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in proc.stderr


def test_compose_file_starts_web_only_after_migrate_and_healthy_services():
    text = COMPOSE_FILE.read_text()
    services = compose_services(text)
    assert {"db", "redis", "migrate", "web", "worker", "beat"} <= set(services)
    blocks = compose_service_blocks(text)
    for name in ("web", "worker", "beat"):
        block = blocks[name]
        assert re.search(r"migrate:\s*\n\s*condition: service_completed_successfully", block), name
        assert re.search(r"db:\s*\n\s*condition: service_healthy", block), name
        assert re.search(r"redis:\s*\n\s*condition: service_healthy", block), name
    for name in ("db", "redis", "web"):
        assert "healthcheck:" in blocks[name], name
    assert "migrate --noinput" in blocks["migrate"]
    assert "config.health" in blocks["web"]


# --- README and .env.example --------------------------------------------------------------------------


def readme_production_section():
    text = (ROOT / "README.md").read_text()
    m = re.search(r"(?ms)^## Run in production\n(.*?)(?=^## )", text)
    assert m, "README.md has no '## Run in production' section"
    return m.group(1)


def test_every_service_the_readme_names_exists_in_the_compose_file():
    section = readme_production_section()
    services = set(compose_services(COMPOSE_FILE.read_text()))
    # Services in the section's table ("| `web` | ...") ...
    named = set(re.findall(r"(?m)^\|\s*`([A-Za-z0-9_.-]+)`\s*\|", section))
    # ... and in its commands: docker compose up/run/exec/logs ... SERVICE ...
    for line in re.findall(r"docker[ -]compose ([^\n`]*)", section):
        words = line.split("#")[0].split()
        if not words or words[0] not in ("up", "run", "exec", "logs", "restart", "stop", "start", "build"):
            continue
        args = [w for w in words[1:] if not w.startswith("-")]
        if words[0] in ("run", "exec"):
            args = args[:1]
        named.update(a for a in args if re.fullmatch(r"[a-z][a-z0-9_-]*", a))
    assert {"web", "worker", "beat", "db", "redis", "migrate"} <= named, named
    assert named <= services, f"README names services the compose file lacks: {sorted(named - services)}"


def settings_env_variables():
    """Every variable config/settings.py reads through env(...), env.bool(...), env.list(...) etc."""
    tree = ast.parse((ROOT / "config" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
            continue
        func = node.func
        if (isinstance(func, ast.Name) and func.id == "env") or (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env"
        ):
            names.add(node.args[0].value)
    return names


def env_example_variables():
    """Variables .env.example sets or documents (as `NAME=` or `# NAME=` lines)."""
    return set(re.findall(r"(?m)^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text()))


def test_env_example_documents_every_variable_the_settings_read():
    read = settings_env_variables()
    assert {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "SECURE_HSTS_SECONDS"} <= read
    missing = read - env_example_variables()
    assert not missing, f".env.example does not document: {sorted(missing)}"


def test_env_example_sets_what_production_requires():
    text = ENV_EXAMPLE.read_text()
    for name in ("DEBUG=False", "SECRET_KEY=", "ALLOWED_HOSTS=", "POSTGRES_PASSWORD="):
        assert re.search(rf"(?m)^{re.escape(name)}", text), name


def test_env_example_documents_every_variable_the_compose_file_uses():
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE_FILE.read_text()))
    assert "POSTGRES_PASSWORD" in used
    missing = used - env_example_variables()
    assert not missing, f".env.example does not document: {sorted(missing)}"


# --- Static files -------------------------------------------------------------------------------------


def test_static_files_collected_as_in_the_image_are_served_by_whitenoise(tmp_path):
    """collectstatic as the Dockerfile runs it (DEBUG=False, placeholder key), then gunicorn under
    production settings serves the hashed, compressed files with a far-future cache header."""
    static_root = tmp_path / "static"
    build = run_manage(
        "collectstatic",
        "--noinput",
        env=production_env(
            SECRET_KEY="collectstatic-only-not-a-secret",
            ALLOWED_HOSTS="localhost",
            STATIC_ROOT=str(static_root),
            WATCHPOST_VAR_DIR=str(tmp_path / "build-var"),
            LOG_LEVEL="WARNING",
        ),
    )
    assert build.returncode == 0, build.stderr
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["admin/css/base.css"]
    assert hashed != "admin/css/base.css"
    assert (static_root / (hashed + ".gz")).is_file()

    with gunicorn(tmp_path, STATIC_ROOT=str(static_root), TRUST_X_FORWARDED_PROTO="True") as (url, env, log):
        request = urllib.request.Request(
            f"{url}/static/{hashed}",
            headers={
                "Host": "watchpost.example.org",
                "X-Forwarded-Proto": "https",
                "Accept-Encoding": "gzip",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers = response.status, response.headers
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert headers["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in headers["Cache-Control"]
