#!/usr/bin/env bash
# Installs gobot as a supervised service in one command:
#
#   sudo scripts/install.sh [--prefix /opt/gobot] [--user gobot] [--cron|--systemd] [--dry-run]
#
# Release build with the static Swift stdlib; binary and config into the prefix; a dedicated system
# user; /etc/gobot/env from a template (0600, never overwritten); state directory 0700 and database
# 0600 owned by that user; systemd timers (default) or /etc/cron.d/gobot; logrotate for the cron
# logs; shell completions. Idempotent: a second run replaces the binary, units and completions and
# leaves config, env and state alone.
#
# DESTDIR=/some/root stages everything under that root (packaging, tests): no user is created, no
# ownership is changed, nothing is enabled. --binary FILE installs a binary built elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/opt/gobot
user=gobot
mode=systemd
dry_run=0
binary=""
enable=1
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; echo "options: --prefix DIR --user NAME --cron | --systemd --binary FILE --no-enable --dry-run"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="${2:?--prefix needs a directory}"; shift 2;;
        --user) user="${2:?--user needs a name}"; shift 2;;
        --cron) mode=cron; shift;;
        --systemd) mode=systemd; shift;;
        --binary) binary="${2:?--binary needs a file}"; shift 2;;
        --no-enable) enable=0; shift;;
        --dry-run) dry_run=1; shift;;
        -h|--help) usage; exit 0;;
        *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 64;;
    esac
done
case "$prefix" in /*) ;; *) echo "install.sh: --prefix must be an absolute path, got $prefix" >&2; exit 64;; esac
case "$user" in ''|*[!a-z0-9_-]*) echo "install.sh: --user must be a plain user name, got '$user'" >&2; exit 64;; esac

root="${DESTDIR:-}"
staged=0; [ -n "$root" ] && staged=1
is_root=0; [ "$(id -u)" -eq 0 ] && is_root=1
if [ "$staged" -eq 0 ] && [ "$is_root" -eq 0 ] && [ "$dry_run" -eq 0 ]; then
    echo "install.sh: run as root (it creates a system user and writes /etc), or set DESTDIR to stage into a directory" >&2
    exit 77
fi

say() { echo "install: $*"; }
# Runs a command, or only prints it with --dry-run.
run() {
    if [ "$dry_run" -eq 1 ]; then echo "would run: $*"; else "$@"; fi
}
# Sets owner only for a real install (a staged tree has no such user).
own() {
    if [ "$staged" -eq 0 ] && [ "$is_root" -eq 1 ]; then run chown "$@"; fi
}
# Writes stdin to a file with a mode, replacing it atomically.
put() {
    local file="$1" file_mode="$2" tmp
    if [ "$dry_run" -eq 1 ]; then echo "would write: $file (mode $file_mode)"; cat >/dev/null; return; fi
    tmp="$(mktemp "$(dirname "$file")/.install.XXXXXX")"
    cat >"$tmp"
    chmod "$file_mode" "$tmp"
    mv -f "$tmp" "$file"
}

# 1. The binary.
if [ -z "$binary" ]; then
    say "building (release, static Swift stdlib)"
    run swift build -c release --product gobot --static-swift-stdlib
    binary=.build/release/gobot
fi
if [ "$dry_run" -eq 0 ] && [ ! -x "$binary" ]; then echo "install.sh: no executable at $binary" >&2; exit 1; fi

# 2. The system user.
if [ "$staged" -eq 1 ]; then
    say "DESTDIR set: not creating user $user and not changing ownership (staged install)"
elif id -u "$user" >/dev/null 2>&1; then
    say "user $user exists"
else
    say "creating system user $user"
    run useradd --system --home-dir "$prefix" --no-create-home --shell /usr/sbin/nologin "$user"
fi

# 3. Directories.
run install -d -m 0755 "$root$prefix" "$root$prefix/bin" "$root$prefix/config" "$root/etc/gobot"
run install -d -m 0700 "$root$prefix/state"
own "$user:$user" "$root$prefix/state"
run install -d -m 0750 "$root/var/log/gobot"
own "$user:$user" "$root/var/log/gobot"

# 4. Binary (replaced on every run: this is the upgrade).
if [ "$dry_run" -eq 1 ]; then echo "would install: $binary -> $root$prefix/bin/gobot (mode 0755)"; else
    install -m 0755 "$binary" "$root$prefix/bin/.gobot.new"
    mv -f "$root$prefix/bin/.gobot.new" "$root$prefix/bin/gobot"
    say "binary: $("$root$prefix/bin/gobot" --version)"
fi

# 5. Config (never overwritten): the defaults with the state directory inside the prefix.
config="$prefix/config/config.yaml"
if [ -e "$root$config" ]; then
    say "kept existing $config"
else
    sed -e "s|^  dir: state$|  dir: $prefix/state|" \
        -e "s|kill_switch_file: /tmp/gobot_kill_switch|kill_switch_file: $prefix/state/kill_switch|" \
        config/config.yaml | put "$root$config" 0644
    say "wrote $config"
fi

# 6. Secrets (never overwritten; 0600, readable by the service user only).
if [ -e "$root/etc/gobot/env" ]; then
    say "kept existing /etc/gobot/env"
else
    put "$root/etc/gobot/env" 0600 <config/env.example
    own "$user:$user" "$root/etc/gobot/env"
    say "wrote /etc/gobot/env from config/env.example (mode 0600): put your keys there"
fi

# 7. State database (created 0600 by gobot itself; an existing one is only migrated).
if [ "$dry_run" -eq 1 ]; then echo "would run: gobot init (state database $prefix/state/gobot.sqlite, mode 0600)"; else
    if [ "$staged" -eq 0 ] && [ "$is_root" -eq 1 ]; then
        (cd "$prefix" && runuser -u "$user" -- "$prefix/bin/gobot" init --config "$config" >/dev/null)
    else
        "$root$prefix/bin/gobot" init --config "$root$config" --state-dir "$root$prefix/state" >/dev/null
    fi
    chmod 0600 "$root$prefix/state/gobot.sqlite"
    say "state database ready: $prefix/state/gobot.sqlite"
fi

# 8. Schedule: systemd timers or cron.
steps="scan analyze trade reconcile report telegram"
if [ "$mode" = systemd ]; then
    run install -d -m 0755 "$root/etc/systemd/system"
    for step in $steps; do
        sed -e "s|/opt/gobot|$prefix|g" -e "s|^\[Service\]$|[Service]\nUser=$user\nGroup=$user|" "cron/gobot-$step.service" \
            | put "$root/etc/systemd/system/gobot-$step.service" 0644
        put "$root/etc/systemd/system/gobot-$step.timer" 0644 <"cron/gobot-$step.timer"
    done
    rm -f "$root/etc/cron.d/gobot" 2>/dev/null || true
    if [ "$staged" -eq 0 ] && [ "$enable" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then
        run systemctl daemon-reload
        for step in $steps; do run systemctl enable --now "gobot-$step.timer"; done
    else
        say "not enabling timers (staged install, --no-enable, or no systemctl): systemctl enable --now gobot-{${steps// /,}}.timer"
    fi
else
    run install -d -m 0755 "$root/etc/cron.d"
    sed -e "s|/opt/gobot|$prefix|g" -e "s|@USER@|$user|g" cron/gobot.cron.d | put "$root/etc/cron.d/gobot" 0644
    say "installed /etc/cron.d/gobot (cron reads it at once)"
fi

# 9. logrotate for the cron logs (harmless with systemd, whose output goes to the journal).
run install -d -m 0755 "$root/etc/logrotate.d"
sed -e "s|@USER@|$user|g" cron/gobot.logrotate | put "$root/etc/logrotate.d/gobot" 0644

# 10. Shell completions, generated by swift-argument-parser.
if [ "$dry_run" -eq 1 ]; then echo "would write: bash, zsh and fish completions"; else
    install -d -m 0755 "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d"
    "$root$prefix/bin/gobot" --generate-completion-script bash | put "$root/usr/share/bash-completion/completions/gobot" 0644
    "$root$prefix/bin/gobot" --generate-completion-script zsh | put "$root/usr/share/zsh/vendor-completions/_gobot" 0644
    "$root$prefix/bin/gobot" --generate-completion-script fish | put "$root/usr/share/fish/vendor_completions.d/gobot.fish" 0644
fi

say "done ($mode). Next: edit /etc/gobot/env and $config, then: $prefix/bin/gobot config check --config $config; $prefix/bin/gobot status --config $config; $prefix/bin/gobot dashboard --config $config"
