"""The deployment recipes in deploy/: each loaded and checked for the fields that matter,
run or verified by the real tool where this machine has it (README "Running on a schedule")."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
DEPLOY = ROOT / "deploy"
OKRSYNC = Path(sys.executable).parent / "okrsync"


def test_kubernetes_cronjob_forbids_overlap_and_keeps_the_store_on_a_claim():
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes/cronjob.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"PersistentVolumeClaim", "CronJob"}
    pvc, cron = kinds["PersistentVolumeClaim"], kinds["CronJob"]
    assert cron["apiVersion"] == "batch/v1" and pvc["apiVersion"] == "v1"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"] and pvc["spec"]["resources"]["requests"]["storage"]
    spec = cron["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert len(spec["schedule"].split()) == 5
    job = spec["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and job["backoffLimit"] == 0
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    [container] = pod["containers"]
    assert container["args"][-1] == "sync" and "--log-format" in container["args"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["store"] == "/data"
    assert volumes["store"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True and "tmp" in mounts


def test_systemd_units_verify_and_treat_a_held_lock_as_success(tmp_path):
    service = (DEPLOY / "systemd/okrsync@.service").read_text()
    timer = (DEPLOY / "systemd/okrsync@.timer").read_text()
    assert "Type=oneshot" in service and "SuccessExitStatus=5\n" in service
    assert re.search(r"^ExecStart=/opt/okrsync/.venv/bin/okrsync -c /etc/okrsync/%i.yaml .*sync$", service, re.M)
    assert "User=okrsync" in service and "StateDirectory=okrsync/%i" in service
    assert "Unit=okrsync@%i.service" in timer and "Persistent=true" in timer
    if not shutil.which("systemd-analyze") or not OKRSYNC.exists():
        pytest.skip("systemd-analyze (or the installed okrsync) is not on this machine")
    (tmp_path / "okrsync@.service").write_text(service.replace("/opt/okrsync/.venv/bin/okrsync", str(OKRSYNC)))
    (tmp_path / "okrsync@.timer").write_text(timer)
    for unit in ("okrsync@.service", "okrsync@.timer"):
        done = subprocess.run(["systemd-analyze", "verify", str(tmp_path / unit)], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


def test_crontab_line_runs_as_written(tmp_path):
    lines = [line for line in (DEPLOY / "crontab").read_text().splitlines() if line and not line.startswith("#")]
    line = lines[0]
    assert all(other.startswith("# ") for other in lines[1:])
    fields = line.split(None, 5)
    schedule, command = fields[:5], fields[5].replace("\\%", "%")  # what cron hands the shell
    assert schedule == ["*/15", "*", "*", "*", "*"] and "flock" not in command
    if not OKRSYNC.exists() or not shutil.which("sh"):
        pytest.skip("the installed okrsync is not beside this Python")
    home = tmp_path / "home"
    work = home / "okrsync"
    (work / "log").mkdir(parents=True)
    (work / ".venv/bin").mkdir(parents=True)
    (work / ".venv/bin/okrsync").symlink_to(OKRSYNC)
    shutil.copy(ROOT / "examples/okrs.csv", work / "okrs.csv")
    (work / "acme.yaml").write_text("store: state/okrsync.db\nendpoints:\n  sheet: {type: csv, path: okrs.csv}\n"
                                    "  board: {type: xlsx, path: out/board.xlsx}\n")
    (work / "acme.env").write_text("export OKRSYNC_LOAD_PLUGINS=\n")
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh"}  # cron's environment is this bare
    for expected in (0, 0):
        done = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == expected, done.stderr
    log = (work / "log/acme.log").read_text()
    summaries = re.findall(r"^okrsync: sync (.*)$", log, re.M)
    assert len(summaries) == 2 and all(s.startswith("ok in ") for s in summaries), log
    assert "created 0," not in summaries[0] and "created 0," in summaries[1]  # the second run wrote nothing
    (work / "state/okrsync.db.lock").write_text(json.dumps({"pid": os.getpid(), "host": os.uname().nodename,
                                                            "command": "sync", "since": "now"}))
    subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, timeout=120)
    tail = (work / "log/acme.log").read_text().splitlines()[-2:]
    assert tail[0].startswith("okrsync: sync locked (exit 5) in ")
    assert re.fullmatch(r"okrsync: exit 5 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", tail[1]), tail


def test_dockerfile_slim_non_root_volume_entrypoint_and_copies_what_the_package_needs():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim$", text, re.M)
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert 'VOLUME ["/data"]' in text and 'ENTRYPOINT ["okrsync"]' in text
    copied = {src for line in re.findall(r"^COPY (.+)$", text, re.M) for src in line.split()[:-1]}
    assert copied == {"pyproject.toml", "README.md", "okrsync", "connectors", "mappings"}
    assert all((ROOT / src).exists() for src in copied)
    pyproject = (ROOT / "pyproject.toml").read_text()
    dirs = set(re.findall(r'^"okrsync[.\w]*" = "(\w+)"$', pyproject, re.M))
    assert dirs <= copied  # every package directory the build needs is in the image
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[1] == "*" and {f"!{src}" + ("/" if (ROOT / src).is_dir() else "") for src in copied} <= set(ignore)
    if shutil.which("hadolint"):
        done = subprocess.run(["hadolint", str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout


def test_github_actions_workflow_is_scheduled_serialised_and_keeps_the_store():
    flow = yaml.safe_load((DEPLOY / "github-actions/okrsync-sync.yml").read_text())
    triggers = flow[True]  # YAML 1.1 reads the key `on` as true
    assert len(triggers["schedule"][0]["cron"].split()) == 5 and "workflow_dispatch" in triggers
    assert flow["concurrency"]["cancel-in-progress"] is False
    steps = flow["jobs"]["sync"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/cache/restore@") for u in uses) and any(u.startswith("actions/cache/save@") for u in uses)
    assert next(s for s in steps if s.get("name") == "Save the store")["if"] == "always()"
    assert any("okrsync" in s.get("run", "") and s["run"].endswith(" sync") for s in steps)
    if shutil.which("actionlint"):
        done = subprocess.run(["actionlint", str(DEPLOY / "github-actions/okrsync-sync.yml")], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout
