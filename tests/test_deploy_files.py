"""deploy/ sets exactly the settings the app reads, every one production needs, a shutdown order that
holds, and an nginx that hands WeChat's callbacks to the app untouched.

The tools' own checks (docker-compose config, the Kubernetes schemas, nginx -t) run in `make deploy-check`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml

from app import ROOT
from shop.config import PRODUCTION, SETTINGS, load_config
from tests.faults.servers import free_port

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SETTING_NAMES = {s.name for s in SETTINGS}
SECRET_SETTINGS = {s.name for s in SETTINGS if s.secret}
# The production profile refuses to start without these (shop/config.py's _check_production): every
# production-required setting, the switch itself, and TRUSTED_PROXIES (behind nginx it must be said).
PRODUCTION_NEEDS = {s.name for s in SETTINGS if s.production_required} | {"RIPPLE_ENV", "TRUSTED_PROXIES"}
# Read by deploy/gunicorn.conf.py, which the API's command loads: GUNICORN_*, HOST, PORT.
GUNICORN_NAMES = set(re.findall(r"os\.environ\.get\(\s*[\"']([A-Z0-9_]+)[\"']",
                                (DEPLOY / "gunicorn.conf.py").read_text()))
# Names set in our image (deploy/Dockerfile's ENV) that are not settings: where the virtualenv is, no
# .pyc files in a read-only image, unbuffered logs, and the app `flask` commands load.
IMAGE_NAMES = {"PATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "FLASK_APP"}
# Other images' own variables, by image: the official postgres image creates its database and user.
OTHER_IMAGE_NAMES = {"postgres": {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"}}
PLACEHOLDER = "REPLACE_ME"
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _k8s_documents() -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def _k8s(kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [doc for doc in _k8s_documents() if doc["kind"] == kind and name in (None, doc["metadata"]["name"])]


def _is_ripple(service: dict[str, Any]) -> bool:
    return "build" in service or str(service.get("image", "")).startswith("ripple")


def _interpolated(value: Any) -> str:
    """A compose value as docker-compose would make it, each variable the operator sets made up here."""
    def one(match: re.Match) -> str:
        return match.group(3) if match.group(2) == "-" else secrets.token_urlsafe(36)
    return INTERPOLATION.sub(one, str(value))


def _filled(value: Any) -> str:
    """A ConfigMap or Secret value with the operator's part (REPLACE_ME) made up here."""
    return str(value).replace(PLACEHOLDER, secrets.token_urlsafe(36))


def compose_app_environments() -> dict[str, dict[str, str]]:
    """Each compose service that runs our image: the variables it gets, interpolated."""
    return {name: {key: _interpolated(value) for key, value in (service.get("environment") or {}).items()}
            for name, service in _compose()["services"].items() if _is_ripple(service)}


def _container_environment(container: dict[str, Any]) -> dict[str, str]:
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            (config,) = _k8s("ConfigMap", source["configMapRef"]["name"])
            environment.update({key: _filled(value) for key, value in config["data"].items()})
        if "secretRef" in source:
            (secret,) = _k8s("Secret", source["secretRef"]["name"])
            environment.update({key: _filled(value) for key, value in secret["stringData"].items()})
    environment.update({item["name"]: _filled(item["value"]) for item in container.get("env", [])})
    return environment


def _pod_specs() -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc["spec"]["template"]["spec"]
            for doc in _k8s_documents() if doc["kind"] in ("Deployment", "Job")}


def k8s_app_environments() -> dict[str, dict[str, str]]:
    """Each Kubernetes container: the variables it gets (ConfigMap, Secret, its own env), filled in."""
    return {f"{name}/{container['name']}": _container_environment(container)
            for name, spec in _pod_specs().items() for container in spec["containers"]}


def app_environments() -> dict[str, dict[str, str]]:
    return {**{f"compose {k}": v for k, v in compose_app_environments().items()},
            **{f"k8s {k}": v for k, v in k8s_app_environments().items()}}


def test_the_deploy_files_run_our_image_as_the_api_worker_scheduler_and_migration_step():
    commands = {name: service.get("command") for name, service in _compose()["services"].items()
                if _is_ripple(service)}
    assert sorted(map(tuple, commands.values())) == sorted([
        ("flask", "db", "upgrade"), ("flask", "jobs", "worker"), ("flask", "jobs", "sweep", "--every", "60"),
        *[("gunicorn", "-c", "deploy/gunicorn.conf.py", "app:create_app()")] * 2])
    k8s_commands = sorted(tuple(c["args"]) for spec in _pod_specs().values() for c in spec["containers"])
    assert k8s_commands == sorted([("flask", "db", "upgrade"), ("flask", "jobs", "worker"),
                                   ("flask", "jobs", "sweep", "--every", "60"),
                                   ("gunicorn", "-c", "deploy/gunicorn.conf.py", "app:create_app()")])


def test_every_variable_the_deploy_files_set_is_one_the_app_reads():
    for where, environment in app_environments().items():
        unknown = set(environment) - SETTING_NAMES - GUNICORN_NAMES
        assert not unknown, f"{where} sets {sorted(unknown)}: not in shop/config.py's SETTINGS"
    for name in ("ConfigMap", "Secret"):
        for doc in _k8s(name):
            unknown = set(doc.get("data") or doc.get("stringData")) - SETTING_NAMES
            assert not unknown, f"{name} {doc['metadata']['name']}: {sorted(unknown)} are not settings"
    for name, service in _compose()["services"].items():
        if not _is_ripple(service):
            allowed = OTHER_IMAGE_NAMES.get(str(service["image"]).split(":")[0], set())
            assert set(service.get("environment") or {}) <= allowed, name


def test_the_optional_settings_the_kubernetes_templates_offer_commented_out_are_settings_too():
    """An operator uncomments them as they are (the reports' replica, in the Secret): a wrong name would be set
    and never read."""
    offered = {name for path in K8S.glob("*.yaml")
               for name in re.findall(r"^\s*#\s*([A-Z][A-Z0-9_]+):\s", path.read_text(), re.MULTILINE)}
    assert "DATABASE_REPLICA_URL" in offered
    assert offered <= SETTING_NAMES, sorted(offered - SETTING_NAMES)


def test_the_image_sets_only_what_python_and_flask_need():
    names = set()
    for block in re.findall(r"^ENV\s+((?:.*\\\n)*.*)$", (DEPLOY / "Dockerfile").read_text(), re.M):
        names |= set(re.findall(r"([A-Z_][A-Z0-9_]*)=", block))
    assert names == IMAGE_NAMES


def test_every_container_of_the_app_gets_every_setting_production_requires():
    for where, environment in app_environments().items():
        missing = PRODUCTION_NEEDS - set(environment)
        assert not missing, f"{where} lacks {sorted(missing)}"
        assert environment["RIPPLE_ENV"] == PRODUCTION, where


@pytest.mark.parametrize("where", sorted(app_environments()))
def test_the_production_profile_starts_on_what_each_container_gets(where):
    """shop/config.py's own checks (keys, WeChat, https notify, proxies) pass once the operator fills in."""
    config = load_config(app_environments()[where])
    assert config["RIPPLE_ENV"] == PRODUCTION
    assert config["JOBS_ASYNC"] is True  # background work on the RQ worker, not in request threads
    assert config["TRUSTED_PROXIES"] == 1  # nginx or the ingress controller, and only it


def test_secrets_are_only_in_the_secret_and_the_repository_holds_none():
    (config,) = _k8s("ConfigMap")
    assert not SECRET_SETTINGS & set(config["data"])
    (secret,) = _k8s("Secret")
    assert set(secret["stringData"]) >= SECRET_SETTINGS & PRODUCTION_NEEDS
    for name, value in secret["stringData"].items():
        assert PLACEHOLDER in value, f"the Secret template holds a value for {name}"
    example = dict(line.split("=", 1) for line in (DEPLOY / "compose.env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    for name in SECRET_SETTINGS & set(example):
        assert example[name].startswith(PLACEHOLDER), name
    for name, service in _compose()["services"].items():
        for setting, raw in (service.get("environment") or {}).items():
            if setting in SECRET_SETTINGS:  # from deploy/.env, or a file mounted read-only
                assert str(raw).startswith(("${", "/run/secrets/")), f"compose.yaml holds {setting} of {name}"


def _number(environment: dict[str, str], name: str) -> float:
    return float(environment[name])


def test_kubernetes_stops_an_api_pod_in_the_order_the_drain_makes_safe():
    """Readiness notices the drain before it ends; requests in flight finish before the pod is killed."""
    (api,) = _k8s("Deployment", "ripple-api")
    spec = api["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    environment = _container_environment(container)
    readiness = container["readinessProbe"]
    assert readiness["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    noticed_within = readiness["periodSeconds"] * readiness["failureThreshold"]
    drain = _number(environment, "SHUTDOWN_DRAIN_SECONDS")
    graceful = _number(environment, "GUNICORN_GRACEFUL_TIMEOUT")
    assert noticed_within < drain < graceful < spec["terminationGracePeriodSeconds"]
    assert graceful - drain >= 10  # room for the longest request after the drain
    assert "lifecycle" not in container  # no preStop sleep: the drain is that wait (api.yaml says why)


def test_docker_stops_an_api_instance_within_its_grace_period():
    services = _compose()["services"]
    for name in ("api-1", "api-2"):
        environment = compose_app_environments()[name]
        grace = float(services[name]["stop_grace_period"].removesuffix("s"))
        assert _number(environment, "SHUTDOWN_DRAIN_SECONDS") < _number(environment, "GUNICORN_GRACEFUL_TIMEOUT") < grace


def test_migrations_run_before_anything_serves_and_one_scheduler_runs():
    services = _compose()["services"]
    for name, service in services.items():
        if _is_ripple(service) and name != "migrate":
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    (scheduler,) = _k8s("Deployment", "ripple-scheduler")
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"]["type"] == "Recreate"  # a rollout never runs two
    assert [s for s in services if "sweep" in (services[s].get("command") or [])] == ["scheduler"]
    (job,) = _k8s("Job", "ripple-migrate")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_the_api_survives_voluntary_disruption_and_scales_out():
    (budget,) = _k8s("PodDisruptionBudget")
    (autoscaler,) = _k8s("HorizontalPodAutoscaler")
    (api,) = _k8s("Deployment", "ripple-api")
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] < autoscaler["spec"]["minReplicas"]
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "ripple-api"


def test_every_container_runs_as_a_user_and_writes_only_to_tmp():
    for name, spec in _pod_specs().items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    user = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)[-1]
    assert user.isdigit() and int(user) != 0


def test_the_image_holds_every_package_of_the_app_and_nothing_else():
    copied = set(re.findall(r"^COPY\s+(?!--from)(\S+)\s+\S+$", (DEPLOY / "Dockerfile").read_text(), re.M))
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}
    assert copied == packages | {"pyproject.toml", "app.py", "migrations", "deploy/gunicorn.conf.py"}


# --- nginx -----------------------------------------------------------------------------------------

Directive = tuple[str, list[str], list["Directive"] | None]


def _nginx(text: str) -> list[Directive]:
    """nginx.conf as a tree: (name, arguments, the block's directives or None)."""
    tokens = [t for t in re.findall(r"\"[^\"]*\"|'[^']*'|#[^\n]*|[{};]|[^\s{};\"']+", text) if not t.startswith("#")]
    stack: list[list[Directive]] = [[]]
    words: list[str] = []
    for token in tokens:
        if token == ";":
            stack[-1].append((words[0], words[1:], None))
            words = []
        elif token == "{":
            block: list[Directive] = []
            stack[-1].append((words[0], words[1:], block))
            stack.append(block)
            words = []
        elif token == "}":
            stack.pop()
        else:
            words.append(token.strip("\"'"))
    return stack[0]


def _find(tree: list[Directive], name: str) -> list[Directive]:
    return [d for d in tree if d[0] == name]


def _nginx_http() -> list[Directive]:
    (http,) = _find(_nginx((DEPLOY / "nginx.conf").read_text()), "http")
    return http[2]


def _tls_server() -> list[Directive]:
    (server,) = [s[2] for s in _find(_nginx_http(), "server") if any("ssl" in d[1] for d in _find(s[2], "listen"))]
    return server


def _location(path: str) -> list[Directive]:
    (location,) = [loc[2] for loc in _find(_tls_server(), "location") if loc[1] == ["=", path]]
    return location


@pytest.mark.parametrize("path", ["/wechat/pay/notify", "/wechat/official-account"])
def test_nginx_passes_wechat_callbacks_to_the_app_with_headers_and_body_untouched(path):
    location = _location(path)
    (proxy_pass,) = _find(location, "proxy_pass")
    upstreams = {u[1][0] for u in _find(_nginx_http(), "upstream")}
    # No URI part after the upstream: the path and query string (the callback's signature) pass as they came.
    assert proxy_pass[1] == [f"http://{next(iter(upstreams))}"] and len(upstreams) == 1
    names = {d[0] for d in location}
    # proxy_set_header here would also drop every inherited one (X-Forwarded-For, X-Request-ID).
    assert not names & {"proxy_set_header", "proxy_set_body", "proxy_pass_request_body", "proxy_pass_request_headers",
                        "rewrite", "proxy_hide_header", "sub_filter", "gzip", "proxy_request_buffering"}
    http_names = {d[0] for d in _nginx_http()} | {d[0] for d in _tls_server()}
    assert not http_names & {"proxy_set_body", "proxy_pass_request_body", "proxy_pass_request_headers", "rewrite",
                             "underscores_in_headers"}


def test_nginx_sends_the_client_address_and_a_request_id_to_every_instance():
    http = _nginx_http()
    headers = {d[1][0]: d[1][1] for d in _find(http, "proxy_set_header")}
    # Appended, not replaced: with TRUSTED_PROXIES=1 the app takes the last entry, the one nginx adds.
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Request-ID"].startswith("$")
    assert headers["Connection"] == ""  # upstream keep-alive
    for block in (http, _tls_server()):  # add_header in a block replaces the outer ones
        assert any(d[1][0] == "X-Request-ID" and "always" in d[1] for d in _find(block, "add_header"))
    (upstream,) = _find(http, "upstream")
    servers = {d[1][0].split(":")[0] for d in _find(upstream[2], "server")}
    api_services = {name for name, s in _compose()["services"].items() if s.get("command", [None])[0] == "gunicorn"}
    assert servers == api_services
    assert _find(upstream[2], "keepalive")


def test_nginx_refuses_bodies_the_app_would_refuse_before_reading_them():
    app_limit = load_config({})["MAX_CONTENT_LENGTH"]
    sizes = [d[1][0] for d in _find(_nginx_http(), "client_max_body_size")]
    sizes += [d[1][0] for loc in _find(_tls_server(), "location") for d in _find(loc[2], "client_max_body_size")]
    assert sizes and all(int(size.removesuffix("k").removesuffix("m")) * (1024 if size.endswith("k") else 1024 * 1024)
                         <= app_limit for size in sizes)


def test_the_compose_example_names_exactly_what_compose_asks_the_operator_for():
    asked = {name for name, kind, _ in INTERPOLATION.findall((DEPLOY / "compose.yaml").read_text()) if kind != "-"}
    example = {line.split("=", 1)[0] for line in (DEPLOY / "compose.env.example").read_text().splitlines()
               if line and not line.startswith("#")}
    assert asked == example


# --- nginx, running: deploy/nginx.conf as written, its ports and instances moved to loopback ---------

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


class EchoInstance(BaseHTTPRequestHandler):
    """Stands in for an API instance: answers with what it received, and a request id of its own."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server's name
        self._echo()

    def do_POST(self):  # noqa: N802
        self._echo()

    def _echo(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = json.dumps({"path": self.path, "headers": self.headers.items(),
                             "body": base64.b64encode(body).decode()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.send_header("X-Request-ID", "the-instance-own-id")
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    """deploy/nginx.conf served by Debian's nginx on loopback, in front of an echoing instance."""
    if NGINX is None:
        pytest.skip("nginx is not installed (CI installs it: .ci/services.sh)")
    directory = tmp_path_factory.mktemp("nginx")
    (directory / "tls").mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", directory / "tls" / "privkey.pem", "-out", directory / "tls" / "fullchain.pem"],
                   check=True, capture_output=True)
    instance = ThreadingHTTPServer(("127.0.0.1", 0), EchoInstance)
    threading.Thread(target=instance.serve_forever, daemon=True).start()
    http_port, https_port = free_port(), free_port()
    conf = (DEPLOY / "nginx.conf").read_text()
    conf = re.sub(r"server api-\d+:8000;", f"server 127.0.0.1:{instance.server_port};", conf)
    conf = conf.replace("listen 80 default_server;", f"listen 127.0.0.1:{http_port} default_server;")
    conf = conf.replace("listen 443 ssl http2 default_server;", f"listen 127.0.0.1:{https_port} ssl http2 default_server;")
    conf = re.sub(r"\s*listen \[::\]:\d+.*;", "", conf)
    conf = conf.replace("pid /tmp/nginx.pid;", f"pid {directory}/nginx.pid;")
    temp_paths = "".join(f"    {name}_temp_path {directory}/{name};\n"
                         for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = conf.replace("http {\n", "http {\n" + temp_paths, 1)
    (directory / "nginx.conf").write_text(conf)
    process = subprocess.Popen([NGINX, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{http_port}/", timeout=1)
        except urllib.error.HTTPError:
            break  # the redirect to HTTPS: nginx serves
        except OSError:
            time.sleep(0.05)
    assert process.poll() is None, process.stderr.read().decode()
    try:
        yield {"http": f"http://127.0.0.1:{http_port}", "https": f"https://127.0.0.1:{https_port}"}
    finally:
        process.terminate()
        process.wait(10)
        instance.shutdown()


def _send(url: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    """One request through nginx's TLS (the throwaway certificate is not checked); the answer and what the
    instance received."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    context = ssl._create_unverified_context()  # noqa: S323 - the check's own throwaway certificate
    with urllib.request.urlopen(request, context=context, timeout=5) as answer:
        return answer, json.loads(answer.read())


def test_nginx_hands_a_wechat_pay_notify_to_the_app_byte_for_byte(nginx):
    body = b'{"id":"EV-2018022511223320873","resource":{"ciphertext":"a+b/c==","nonce":"fdasflkja484w"}}  \n'
    signed = {"Wechatpay-Signature": "CtcbzwtQjN8rnOXItEBJ5aQFSnIXESeV28Pr2YEmf9wsDQ8Nx25ytW6FXBCAFdrr0mgqngX3AD9gNzjnNHzSGTPBSsaEkIfhPF4b8YRRTpny88tNLyprXA0GU5ID3DkZHpjFkX1hAp/D0fva2GKjGRLtvYbtUk/OLYqFuzbjt3yOBzJSKQqJsvbXILffgAmX4pKql+Ln+6UPvSCeKwznvtPaEx+9nMBmKu7Wpbqm/+2ksc0XwjD+xlvlECkCxfD/OJ4gN3IurE0fpjxIkvHDiinQmk51BI7zQD8k1znU7r/spPqB+vZjc5ep6DC5wZUpFu5vJ8MoNKjCu8wnzyCFdA==",
              "Wechatpay-Timestamp": "1554208460", "Wechatpay-Nonce": "c5ac7061fccab6bf3e254dcf98995b8c",
              "Wechatpay-Serial": "PUB_KEY_ID_0119000001092025010100000000",
              "Content-Type": "application/json", "User-Agent": "Mozilla/4.0"}
    answer, received = _send(nginx["https"] + "/wechat/pay/notify", body, signed)
    assert answer.status == 200
    assert base64.b64decode(received["body"]) == body
    assert received["path"] == "/wechat/pay/notify"
    got = dict(received["headers"])
    for name, value in signed.items():
        assert got[name] == value, name


def test_nginx_hands_the_official_account_callback_its_query_string_as_it_came(nginx):
    query = "?signature=4f1b%2Bf&timestamp=1700000000&nonce=7%20a&openid=o-x_Y&encrypt_type=aes&msg_signature=ab%3D"
    body = b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[a+b/c==]]></Encrypt></xml>"
    _, received = _send(nginx["https"] + "/wechat/official-account" + query, body, {"Content-Type": "text/xml"})
    assert received["path"] == "/wechat/official-account" + query
    assert base64.b64decode(received["body"]) == body


def test_nginx_gives_every_request_an_id_and_the_app_the_client_address(nginx):
    answer, received = _send(nginx["https"] + "/api/v1/stores/nearby", headers={"X-Forwarded-For": "6.6.6.6"})
    got = dict(received["headers"])
    made = answer.headers["X-Request-ID"]
    assert made and made == got["X-Request-ID"] and made != "the-instance-own-id"
    assert got["X-Forwarded-For"] == "6.6.6.6, 127.0.0.1"  # TRUSTED_PROXIES=1: the app takes the last
    assert got["X-Forwarded-Proto"] == "https"
    answer, received = _send(nginx["https"] + "/healthz", headers={"X-Request-ID": "mini-program-1234"})
    assert answer.headers["X-Request-ID"] == dict(received["headers"])["X-Request-ID"] == "mini-program-1234"
    answer, _ = _send(nginx["https"] + "/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert answer.headers["X-Request-ID"] != "bad id\twith spaces"


def test_nginx_refuses_oversized_bodies_and_plain_http(nginx):
    with pytest.raises(urllib.error.HTTPError) as refused:
        _send(nginx["https"] + "/api/v1/orders", b"x" * (1024 * 1024 + 1), {"Content-Type": "application/json"})
    assert refused.value.code == 413
    with pytest.raises(urllib.error.HTTPError) as refused:
        _send(nginx["https"] + "/wechat/pay/notify", b"x" * (64 * 1024 + 1), {"Content-Type": "application/json"})
    assert refused.value.code == 413
    request = urllib.request.Request(nginx["http"] + "/api/v1/me")
    opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                              {"redirect_request": lambda *args: None}))
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(request, timeout=5)
    assert redirected.value.code == 308
    assert redirected.value.headers["Location"].startswith("https://")
