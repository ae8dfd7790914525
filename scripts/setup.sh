#!/usr/bin/env bash
# Installs what the demo and the tests need and is missing, then returns quickly on later runs:
#   - Debian packages: rabbitmq-server (the broker), prometheus (promtool and the campaigns'
#     Prometheus), docker-compose (to parse docker-compose.yml), python3-venv where Python lacks
#     it (Locust's virtual environment); apt-get needs root, as on the project's machines.
#   - npm dependencies from package-lock.json, when node_modules is missing or older than it.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
# Locust's virtual environment (npm run locust:env) needs the venv module.
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package starts a system broker where an init system runs; ours are started per use.
  # Its epmd listens on every interface; ours start one on the loopback when none runs.
  "${sudo_cmd[@]}" pkill -f "rabbit.*-noinput" 2>/dev/null || true
  "${sudo_cmd[@]}" pkill -x epmd 2>/dev/null || true
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
