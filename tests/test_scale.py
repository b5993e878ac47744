"""The scale-out configuration: topology from the environment, HAProxy's configuration, deployment files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import scale
from bot.rasa_addons.event_broker import pika_options
from bot.settings import PROJECT_ROOT, build_settings

DEPLOY = PROJECT_ROOT / "deploy"
STORE_VARIABLES = ("TRACKER_STORE_URL", "DATABASE_URL", "REVIEW_DATABASE_URL", "LOCK_STORE_URL", "RABBITMQ_URL")


def _scale_env() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (DEPLOY / "scale.env").read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.lstrip().startswith("#")}


def test_default_topology_is_two_rasa_and_two_action_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SCALE_RASA_PROCESSES", "SCALE_ACTION_PROCESSES", "SCALE_RASA_BASE_PORT", "SCALE_ACTION_BASE_PORT"):
        monkeypatch.delenv(name, raising=False)
    topology = scale.topology_from_env()
    assert topology.rasa_ports == (5105, 5106)
    assert topology.action_ports == (5155, 5156)
    monkeypatch.setenv("SCALE_RASA_PROCESSES", "3")
    assert scale.topology_from_env().rasa == ("127.0.0.1:5105", "127.0.0.1:5106", "127.0.0.1:5107")


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_process_count_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SCALE_RASA_PROCESSES", value)
    with pytest.raises(ValueError, match="SCALE_RASA_PROCESSES"):
        scale.topology_from_env()


def test_the_scale_env_file_configures_every_store_on_loopback_servers() -> None:
    env = _scale_env()
    for name in STORE_VARIABLES:
        assert name in env, name
        assert "127.0.0.1" in env[name], name
    assert env["TRACKER_STORE_URL"].startswith("postgresql://")
    assert len({env["TRACKER_STORE_URL"], env["DATABASE_URL"], env["REVIEW_DATABASE_URL"]}) == 3
    assert env["LOCK_STORE_URL"].startswith("redis://")
    assert int(env["SCALE_RASA_PROCESSES"]) >= 2 and int(env["SCALE_ACTION_PROCESSES"]) >= 2


def test_haproxy_configuration_routes_by_sender_and_is_valid(tmp_path: Path) -> None:
    topology = scale.Topology.local((5105, 5106), (5155, 5156))
    text = scale.render_haproxy(build_settings(), topology)
    assert "balance hash req.body,json_query('$.sender')" in text
    assert "balance hash req.body_param(From)" in text
    assert text.count("server rasa1 127.0.0.1:5105") == 5  # every Rasa backend
    assert "server actions2 127.0.0.1:5156" in text
    assert re.search(r"bind 127\.0\.0\.1:\d+", text)
    # A busy Rasa process answers its health check late; it must not be taken for a dead one.
    check = re.search(r"timeout check (\d+)s", text)
    assert check and int(check.group(1)) >= 10
    config = tmp_path / "haproxy.cfg"
    config.write_text(text)
    try:
        haproxy = scale.haproxy_executable()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"HAProxy is needed for this check (make haproxy): {exc}")
    result = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_haproxy_config_command_prints_a_configuration_for_containers() -> None:
    result = subprocess.run(
        [
            str(Path(__import__("sys").executable)),
            "-m",
            "bot",
            "haproxy-config",
            "--rasa",
            "rasa1:5005,rasa2:5005",
            "--actions",
            "actions1:5055",
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "server rasa2 rasa2:5005" in result.stdout and "bind 0.0.0.0:" in result.stdout
    bad = subprocess.run(
        [str(Path(__import__("sys").executable)), "-m", "bot", "haproxy-config", "--rasa", "", "--actions", "a:1"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert bad.returncode == 2 and "at least one Rasa server" in bad.stderr


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return data


def test_compose_runs_two_rasa_and_two_action_servers_on_the_shared_stores() -> None:
    services = _compose()["services"]
    rasa = [name for name, s in services.items() if "rasa" in str(s.get("command", "")) and "run" in s["command"]]
    actions = [name for name, s in services.items() if "bot.rasa_addons.action_server" in str(s.get("command", ""))]
    assert len(rasa) >= 2 and len(actions) >= 2
    for name in rasa + actions + ["review", "haproxy"]:
        env = services[name]["environment"]
        for variable in STORE_VARIABLES:
            assert variable in env, (name, variable)
    haproxy_command = " ".join(services["haproxy"]["command"])
    for name in rasa:
        assert f"{name}:5005" in haproxy_command
    for name in actions:
        assert f"{name}:5055" in haproxy_command
    for service in services.values():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), port


def test_kubernetes_manifests_are_consistent() -> None:
    paths = sorted((DEPLOY / "k8s").glob("*.yaml"))
    documents = [doc for path in paths for doc in yaml.safe_load_all(path.read_text())]
    by_name = {(doc["kind"], doc["metadata"]["name"]): doc for doc in documents}
    rasa = by_name[("StatefulSet", "rasa")]
    actions = by_name[("Deployment", "actions")]
    assert rasa["spec"]["replicas"] >= 2 and actions["spec"]["replicas"] >= 2
    haproxy = by_name[("Deployment", "haproxy")]["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    for n in range(rasa["spec"]["replicas"]):
        assert f"rasa-{n}.rasa:5005" in haproxy
    for kind, name in by_name:
        if kind in ("Deployment", "StatefulSet"):
            for container in by_name[(kind, name)]["spec"]["template"]["spec"]["containers"]:
                assert {"secretRef": {"name": "assistant-env"}} in container["envFrom"], name


def test_pika_options_come_from_the_amqp_url() -> None:
    options = pika_options("amqp://alice:s%40cret@mq.internal:5673/", "events")
    assert options["host"] == "mq.internal"  # Rasa logs the host: never the URL with its password
    assert options["username"] == "alice" and options["password"] == "s@cret"
    assert options["port"] == 5673 and options["queues"] == ["events"]
    assert options["should_keep_unpublished_messages"] is True
    with pytest.raises(ValueError, match="virtual host"):
        pika_options("amqp://alice:pw@mq.internal:5673/prod", "events")
    with pytest.raises(ValueError, match="RABBITMQ_URL"):
        pika_options("http://mq.internal/", "events")
