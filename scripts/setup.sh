#!/usr/bin/env bash
# Installs what weir needs to run and test from source on a Debian machine:
# the pinned Deno from the npm registry into .tools/ (no global install), and,
# when run as root, the Debian packages weir and its tests use.
set -euo pipefail
DENO_VERSION=2.9.6
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$here/.tools"

if [ "$(id -u)" = 0 ]; then
  pkgs=(libzmq5 libpcap0.8 libssl3 iproute2 ethtool tcpdump tcpreplay tshark python3-zmq
        python3-websockets python3-scapy prometheus procps openssl nats-server)
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts the prometheus and nats-server services on install; tests
    # run their own.
    for service in prometheus nats-server; do
      if command -v systemctl >/dev/null && systemctl is-active --quiet "$service" 2>/dev/null; then
        systemctl stop "$service" || true
      fi
    done
    pkill -x prometheus 2>/dev/null || true
  fi
else
  for lib in libzmq.so.5 libpcap.so.0.8 libcrypto.so.3; do
    ldconfig -p 2>/dev/null | grep -q "$lib" ||
      echo "setup: $lib is missing; as root run: apt-get install libzmq5 libpcap0.8 libssl3" >&2
  done
fi

if [ ! -x "$tools/bin/deno" ] || ! "$tools/bin/deno" --version 2>/dev/null | grep -q "deno $DENO_VERSION"; then
  echo "setup: installing deno $DENO_VERSION from the npm registry into .tools/"
  mkdir -p "$tools/bin"
  npm install --no-save --no-audit --no-fund --ignore-scripts --prefix "$tools" "deno@$DENO_VERSION" >/dev/null
  bin=$(ls "$tools"/node_modules/@deno/linux-*/deno 2>/dev/null | head -n 1)
  if [ -z "$bin" ]; then
    echo "setup: the npm package deno@$DENO_VERSION brought no Linux binary for $(uname -m)" >&2
    exit 1
  fi
  ln -sf "$bin" "$tools/bin/deno"
fi
cd "$here"
"$tools/bin/deno" install --quiet >/dev/null
echo "setup: ready ($("$tools/bin/deno" --version | head -n 1))"
