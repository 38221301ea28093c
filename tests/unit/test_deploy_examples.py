"""The deployment examples for a shared store in ``deploy/`` hold together, checked
offline (no cluster, no forge here): each YAML file against a JSON Schema of the
structure it needs, then the cross-references a schema cannot see (probes on the
metrics port, every Secret key mounted exists, CI jobs that plan or apply share the
daemon's store)."""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from reconciler.daemon.serving import compute_bind_address
from reconciler.state import PostgresLocation, parse_location

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in YAML(typ="safe").load_all(path.read_text()) if d is not None]


PROBE = {
    "type": "object",
    "required": ["httpGet"],
    "properties": {
        "httpGet": {
            "type": "object",
            "required": ["path", "port"],
            "properties": {"path": {"enum": ["/healthz", "/readyz"]}},
        }
    },
}
DEPLOYMENT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "apps/v1"},
        "kind": {"const": "Deployment"},
        "spec": {
            "type": "object",
            "required": ["replicas", "selector", "template"],
            "properties": {
                "replicas": {"const": 2},
                "template": {
                    "type": "object",
                    "required": ["metadata", "spec"],
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["containers", "volumes"],
                            "properties": {
                                "containers": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["name", "image"],
                                        "properties": {
                                            "livenessProbe": PROBE,
                                            "readinessProbe": PROBE,
                                            "startupProbe": PROBE,
                                        },
                                    },
                                }
                            },
                        }
                    },
                },
            },
        },
    },
}
GITHUB_WORKFLOW = {
    "type": "object",
    "required": ["name", "on", "jobs", "env"],
    "properties": {
        "env": {"type": "object", "required": ["RECONCILER_STATE_DB", "PGPASSWORD"]},
        "jobs": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["runs-on", "steps"],
                "properties": {"steps": {"type": "array", "minItems": 1}},
            },
        },
    },
}
GITLAB_JOB = {
    "type": "object",
    "required": ["stage", "script"],
    "properties": {"script": {"type": "array", "minItems": 1}},
}


def commands(steps: list[Any]) -> str:
    """Every shell line of a job, flattened."""
    lines: list[str] = []
    for step in steps:
        if isinstance(step, list):
            lines.append(commands(step))
        elif isinstance(step, dict):
            lines.append(str(step.get("run", "")))
        else:
            lines.append(str(step))
    return "\n".join(lines)


def test_kubernetes_two_replicas_with_probes_and_a_secret() -> None:
    documents = {d["kind"]: d for d in load_all(DEPLOY / "kubernetes" / "reconciler.yaml")}
    assert set(documents) == {"Secret", "ConfigMap", "Deployment"}
    deployment = documents["Deployment"]
    jsonschema.validate(deployment, DEPLOYMENT)
    spec = deployment["spec"]["template"]["spec"]
    (container,) = [c for c in spec["containers"] if c["name"] == "reconciler"]
    assert container["args"][0] == "run"
    config = documents["ConfigMap"]["data"]
    host, port = compute_bind_address(config["RECONCILER_METRICS_ADDRESS"])
    assert host == "0.0.0.0"  # probes come from the kubelet, not from inside the pod
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == port
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    location = parse_location(config["RECONCILER_STATE_DB"])
    assert isinstance(location, PostgresLocation)
    assert ":" not in location.conninfo.split("//", 1)[1].split("@", 1)[0]  # no password

    env = {e["name"]: e.get("value") for e in container["env"]}
    credentials = env["CREDENTIALS_DIRECTORY"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    (credential_volume,) = [name for name, path in mounts.items() if path == credentials]
    secret = volumes[credential_volume]["secret"]
    assert secret["secretName"] == documents["Secret"]["metadata"]["name"]
    mounted = {item["path"] for item in secret["items"]}
    assert mounted == {"client-secret", "state-db-password"}  # the names reconciler reads
    assert {item["key"] for item in secret["items"]} <= set(documents["Secret"]["stringData"])
    assert mounts["state"] == env["RECONCILER_STATE_DIR"]


def test_github_actions_plan_apply_and_drift_share_the_store() -> None:
    (workflow,) = load_all(DEPLOY / "github-actions.yml")
    jsonschema.validate(workflow, GITHUB_WORKFLOW)
    assert workflow["env"]["RECONCILER_STATE_DB"] == "${{ vars.RECONCILER_STATE_DB }}"
    jobs = workflow["jobs"]
    assert "--lock-timeout" in commands(jobs["apply"]["steps"])
    for job in ("plan", "apply", "drift"):
        assert "reconciler " in commands(jobs[job]["steps"])
        assert "RECONCILER_STATE_DB" not in jobs[job].get("env", {})  # not overridden


def test_gitlab_plan_apply_and_drift_require_the_store() -> None:
    (pipeline,) = load_all(DEPLOY / "gitlab-ci.yml")
    for job in ("validate", "plan", "apply", "drift"):
        jsonschema.validate(pipeline[job], GITLAB_JOB)
    for job in ("plan", "apply", "drift"):
        assert 'test -n "$RECONCILER_STATE_DB"' in commands(pipeline[job]["script"])
    assert "--lock-timeout" in commands(pipeline["apply"]["script"])


def test_the_two_host_example() -> None:
    dropin = configparser.ConfigParser(strict=False, interpolation=None)
    dropin.optionxform = str  # type: ignore[assignment,method-assign]
    dropin.read(DEPLOY / "reconciler-shared-store.conf")
    assert dropin["Service"]["LoadCredential"].startswith("state-db-password:")
    settings = dict(
        line.split("=", 1)
        for line in (DEPLOY / "reconciler-shared-store.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    location = parse_location(settings["RECONCILER_STATE_DB"])
    assert isinstance(location, PostgresLocation)
    assert location.display == "postgresql://reconciler@db.example.org:5432/reconciler"


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_the_ci_recipes_name_the_password_only_as_a_secret(name: str) -> None:
    text = (DEPLOY / name).read_text()
    assert "postgresql://" not in "".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    )
