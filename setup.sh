#!/bin/sh
# Installs every Debian package flatline needs to build, test and run.
# Idempotent and non-interactive; run as root on Debian 12 (bookworm) or newer.
set -eu

packages="
  build-essential cmake pkg-config git
  libnl-3-dev libnl-route-3-dev libnl-nf-3-dev
  libnftables-dev nftables
  libjansson-dev libpcap-dev nettle-dev
  libcriterion-dev
  clang libclang-rt-dev gcovr valgrind python3-jsonschema
  chromium libpng-dev cmark-gfm libxml2-utils
  iproute2 conntrack procps iputils-ping
  qemu-system-x86 busybox-static cpio kmod xz-utils
  mosquitto mosquitto-clients python3 python3-paho-mqtt
"
# The brokers the drivers start (harness/brokers/, docs/atlas.md) and the client
# libraries the adapters drive (docs/clients.md).
packages="$packages rabbitmq-server libpaho-mqtt-dev libmosquitto-dev golang-go golang-github-eclipse-paho.mqtt.golang-dev nodejs"

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (namespaces, nftables and apt need it)" >&2
  exit 2
fi

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -n "$missing" ]; then
  echo "setup.sh: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The charting library that `flatline plot` inlines into its pages, pinned by
# the lockfile (docs/plot.md). Debian's npm if the machine has none of its own.
command -v npm >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends npm >/dev/null
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$here/reports/plot-assets/node_modules/uplot/package.json" ]; then
  npm ci --prefix "$here/reports/plot-assets" --no-audit --no-fund --loglevel=error
fi

# Broker drivers: aedes from npm pinned by its lockfile, beside the launcher
# the aedes driver runs. flatline starts a private RabbitMQ node in the broker
# host and never needs the system one.
if [ ! -f "$here/harness/brokers/aedes/node_modules/aedes/package.json" ]; then
  npm ci --prefix "$here/harness/brokers/aedes" --no-audit --no-fund --loglevel=error
fi
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet rabbitmq-server 2>/dev/null; then
  systemctl stop rabbitmq-server || true
fi
# The mqtt.js client adapter: npm `mqtt` pinned by its lockfile (docs/clients.md).
if [ ! -f "$here/clients/adapters/mqtt.js/node_modules/mqtt/package.json" ]; then
  npm ci --prefix "$here/clients/adapters/mqtt.js" --no-audit --no-fund --loglevel=error
fi

# Debian starts a system mosquitto on install; flatline starts its own inside
# namespaces and never needs the system one on port 1883.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
  systemctl stop mosquitto || true
fi
echo "setup.sh: all packages present"
