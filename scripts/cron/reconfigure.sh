#!/bin/sh
# Cron-driven reconfiguration: when node.cfg (or weir.cfg, networks.cfg) in
# the configuration directory changed since the last successful deploy, check
# it and deploy it. A broken configuration is reported and nothing changes;
# the next run tries again. Only the nodes whose entry changed restart.
#
#   */10 * * * * /usr/local/share/weir/reconfigure.sh /etc/weir
set -eu
config="${1:-/etc/weir}"
weir="${WEIR:-/usr/local/bin/weir}"
stamp="$config/.last-deploy"

changed=0
for f in node.cfg weir.cfg networks.cfg; do
  if [ -f "$config/$f" ] && { [ ! -f "$stamp" ] || [ "$config/$f" -nt "$stamp" ]; }; then
    changed=1
  fi
done
[ "$changed" -eq 1 ] || exit 0

if ! "$weir" check --config "$config"; then
  echo "reconfigure: $config has problems (listed above); nothing deployed" >&2
  exit 1
fi
"$weir" deploy --config "$config"
touch "$stamp"
