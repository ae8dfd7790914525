#!/usr/bin/env bash
# Starts Consul, Vault and Nomad in dev mode on 127.0.0.1 only, runs one raw_exec batch job
# through Nomad and checks that it completes and printed "hi", then starts Traefik on 127.0.0.1
# with the Consul catalog provider and checks its ping; stops every process it started.
# Binaries come from `npx tsx scripts/lab/tools.ts path <name>` (run `... ensure` first).
# Data and logs go to ${SMOKE_DIR:-/tmp/orderlab-smoke}.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=${SMOKE_DIR:-/tmp/orderlab-smoke}
rm -rf "$dir"
mkdir -p "$dir"

tool() { (cd "$repo" && npx --no-install tsx scripts/lab/tools.ts path "$1"); }
CONSUL=$(tool consul)
VAULT=$(tool vault)
NOMAD=$(tool nomad)
TRAEFIK=$(tool traefik)

pids=()
stop_all() {
  for pid in "${pids[@]}"; do
    kill -INT "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap stop_all EXIT

wait_for() { # name, seconds, command...
  local name=$1 secs=$2
  shift 2
  for _ in $(seq 1 "$secs"); do
    if "$@" >/dev/null 2>&1; then echo "$name: up"; return 0; fi
    sleep 1
  done
  echo "$name: not up after ${secs}s" >&2
  return 1
}

# --- Consul -----------------------------------------------------------------
"$CONSUL" agent -dev -bind 127.0.0.1 -client 127.0.0.1 -data-dir "$dir/consul" \
  -hcl 'disable_update_check = true' \
  >"$dir/consul.log" 2>&1 &
pids+=($!)
wait_for consul 60 curl -sf http://127.0.0.1:8500/v1/status/leader

# --- Vault ------------------------------------------------------------------
# A throwaway root token: this dev server lives for the length of the script, in memory.
HOME="$dir" VAULT_DEV_ROOT_TOKEN_ID=orderlab-smoke "$VAULT" server -dev -dev-listen-address 127.0.0.1:8200 \
  >"$dir/vault.log" 2>&1 &
pids+=($!)
wait_for vault 60 curl -sf http://127.0.0.1:8200/v1/sys/health

# --- Nomad ------------------------------------------------------------------
# No traffic off the machine: no update check, and no cloud-metadata fingerprinters
# (env_aws/gce/azure/digitalocean would otherwise query 169.254.169.254).
cat >"$dir/nomad-client.hcl" <<EOF
bind_addr            = "127.0.0.1"
disable_update_check = true

advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}

client {
  enabled           = true
  network_interface = "lo"

  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}

consul {
  address = "127.0.0.1:8500"
}
EOF

"$NOMAD" agent -dev -bind 127.0.0.1 -config "$dir/nomad-client.hcl" >"$dir/nomad.log" 2>&1 &
pids+=($!)
export NOMAD_ADDR=http://127.0.0.1:4646
wait_for nomad 90 sh -c "\"$NOMAD\" node status -self -short 2>/dev/null | grep -q '^Status *= ready'"
"$NOMAD" node status -self -verbose | grep -E 'driver\.raw_exec|consul\.version|unique\.cgroup|^Status' || true
# Consul integration: the Nomad agent registers its own services in Consul.
wait_for "nomad services in consul" 30 sh -c "curl -sf http://127.0.0.1:8500/v1/catalog/services | grep -q nomad-client"
curl -sf http://127.0.0.1:8500/v1/catalog/services; echo

cat >"$dir/hi.nomad.hcl" <<'EOF'
job "hi" {
  datacenters = ["dc1"]
  type        = "batch"

  group "hi" {
    task "hi" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo hi"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
EOF

"$NOMAD" job run -detach "$dir/hi.nomad.hcl"
status=""
for _ in $(seq 1 60); do
  status=$("$NOMAD" job allocs -json hi 2>/dev/null | sed -n 's/.*"ClientStatus": *"\([a-z]*\)".*/\1/p' | head -n1)
  [ "$status" = complete ] || [ "$status" = failed ] && break
  sleep 1
done
alloc=$("$NOMAD" job allocs -t '{{range .}}{{.ID}}{{end}}' hi)
echo "job hi: allocation $alloc is $status"
"$NOMAD" alloc status "$alloc" | tail -n 15
out=$("$NOMAD" alloc logs "$alloc" hi)
echo "task stdout: $out"
# --- Traefik ----------------------------------------------------------------
# checkNewVersion/sendAnonymousUsage off: no traffic off the machine.
"$TRAEFIK" --global.checkNewVersion=false --global.sendAnonymousUsage=false \
  --entryPoints.web.address=127.0.0.1:18080 --ping=true --ping.entryPoint=web \
  --providers.consulCatalog.endpoint.address=127.0.0.1:8500 --providers.consulCatalog.exposedByDefault=false \
  >"$dir/traefik.log" 2>&1 &
pids+=($!)
wait_for traefik 30 curl -sf http://127.0.0.1:18080/ping

if [ "$status" = complete ] && [ "$out" = hi ]; then
  echo "smoke: PASS"
else
  echo "smoke: FAIL (see $dir/*.log)" >&2
  exit 1
fi
