#!/usr/bin/env bash
# Prints the Kubernetes manifests for one gobot account: its own namespace, config, state volume
# and one CronJob per step. One account = one namespace = one database = one set of locks.
#
#   deploy/k8s/render.sh ACCOUNT [IMAGE] > gobot-ACCOUNT.yaml
#   kubectl create namespace gobot-ACCOUNT    # (or apply the rendered file, which contains it)
#   kubectl -n gobot-ACCOUNT create secret generic gobot-secrets --from-env-file=/etc/gobot/env
#   kubectl apply -f gobot-ACCOUNT.yaml
#
# deploy/k8s/gobot.yaml is this script's output for the account "main" (a test keeps them equal).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
account="${1:?usage: render.sh ACCOUNT [IMAGE]}"
image="${2:-ghcr.io/example/gobot:0.7.0}"
case "$account" in ''|*[!a-z0-9-]*) echo "render.sh: ACCOUNT must be lower-case letters, digits and '-', got '$account'" >&2; exit 64;; esac
ns="gobot-$account"

labels() {
    cat <<EOF
    app.kubernetes.io/name: gobot
    app.kubernetes.io/instance: $account
EOF
}

cat <<EOF
# gobot for account "$account", rendered by deploy/k8s/render.sh. Secrets come from the Secret
# gobot-secrets in this namespace (see secret.example.yaml); never put them in the ConfigMap.
apiVersion: v1
kind: Namespace
metadata:
  name: $ns
  labels:
$(labels)
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: gobot-config
  namespace: $ns
  labels:
$(labels)
data:
  config.yaml: |
$(grep -v '^#' "$here/../container-config.yaml" | sed 's/^/    /')
---
# The state database, locks, metrics and reports. ReadWriteOnce: every step of this account runs
# on the node that has the volume attached, so the steps' flock(2) locks see each other.
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: gobot-state
  namespace: $ns
  labels:
$(labels)
spec:
  accessModes: ["ReadWriteOnce"]
  resources:
    requests:
      storage: 1Gi
EOF

# step schedule deadline-seconds timeout-seconds
while read -r step schedule deadline timeout; do
    schedule="${schedule//_/ }"
    cat <<EOF
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: gobot-$step
  namespace: $ns
  labels:
$(labels)
    app.kubernetes.io/component: $step
spec:
  schedule: "$schedule"
  timeZone: Etc/UTC
  # The cluster-level guard: never two $step jobs of one account at once (the file lock is the in-host one).
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: $deadline
  successfulJobsHistoryLimit: 1
  failedJobsHistoryLimit: 3
  jobTemplate:
    spec:
      backoffLimit: 0
      activeDeadlineSeconds: $timeout
      ttlSecondsAfterFinished: 3600
      template:
        metadata:
          labels:
$(labels | sed 's/^/        /')
            app.kubernetes.io/component: $step
        spec:
          restartPolicy: Never
          automountServiceAccountToken: false
          securityContext:
            runAsNonRoot: true
            runAsUser: 10001
            runAsGroup: 10001
            fsGroup: 10001
            seccompProfile:
              type: RuntimeDefault
          containers:
            - name: gobot
              image: $image
              imagePullPolicy: IfNotPresent
              args: ["$step", "--config", "/etc/gobot/config.yaml"]
              envFrom:
                - secretRef:
                    name: gobot-secrets
              securityContext:
                readOnlyRootFilesystem: true
                allowPrivilegeEscalation: false
                capabilities:
                  drop: ["ALL"]
              resources:
                requests:
                  cpu: 50m
                  memory: 64Mi
                limits:
                  memory: 512Mi
              volumeMounts:
                - name: state
                  mountPath: /state
                - name: config
                  mountPath: /etc/gobot
                  readOnly: true
                - name: tmp
                  mountPath: /tmp
          volumes:
            - name: state
              persistentVolumeClaim:
                claimName: gobot-state
            - name: config
              configMap:
                name: gobot-config
            - name: tmp
              emptyDir:
                sizeLimit: 64Mi
EOF
done <<'STEPS'
scan */5_*_*_*_* 120 240
analyze 1-59/5_*_*_*_* 120 240
trade 2-59/5_*_*_*_* 120 240
reconcile */2_*_*_*_* 60 240
report 55_23_*_*_* 3600 600
telegram *_*_*_*_* 50 60
STEPS
