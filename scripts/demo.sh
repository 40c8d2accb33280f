#!/usr/bin/env bash
# The demo behind `make demo`: a fake GitHub and a fake Cloudflare API on
# 127.0.0.1 serving the bundled sample organisation "acme" and its Cloudflare
# account, all four collectors (branch-protection, merge-activity, ci-status,
# deployments) writing signed evidence to ./evidence-demo, the same collectors
# as scheduled jobs (`run --once`, with signed run records), and verification
# of everything stored there.
# Run again to append to the same hash chain.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=./bin
state=.demo
store=evidence-demo
mkdir -p "$state"
rm -f "$state/ghfake.url"

# A fixed port keeps the evidence's source URL, and so its hash chain, the
# same from one demo run to the next; if it is taken, any free port will do
# (the run then starts a new chain).
start_fake() {
  rm -f "$state/ghfake.url"
  "$bin/ghfake" --fixture testdata/github/sample-org --addr "127.0.0.1:$1" --url-file "$state/ghfake.url" &
  fake=$!
  for _ in $(seq 1 100); do
    [ -s "$state/ghfake.url" ] && return 0
    kill -0 "$fake" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# The same for the fake Cloudflare API, which requires the demo's token.
start_cffake() {
  rm -f "$state/cffake.url"
  CLOUDFLARE_API_TOKEN=demo-cf-token-not-a-secret "$bin/cffake" --fixture testdata/cloudflare/sample-account \
    --addr "127.0.0.1:$1" --url-file "$state/cffake.url" --token-env CLOUDFLARE_API_TOKEN &
  cffake=$!
  for _ in $(seq 1 100); do
    [ -s "$state/cffake.url" ] && return 0
    kill -0 "$cffake" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
fake=
cffake=
stop_fakes() {
  for p in $fake $cffake; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
trap stop_fakes EXIT
start_fake "${DEMO_GITHUB_PORT:-48621}" 2>/dev/null || start_fake 0 ||
  { echo "demo: the fake GitHub did not start" >&2; exit 2; }
api=$(cat "$state/ghfake.url")
start_cffake "${DEMO_CLOUDFLARE_PORT:-48622}" 2>/dev/null || start_cffake 0 ||
  { echo "demo: the fake Cloudflare API did not start" >&2; exit 2; }
cfapi=$(cat "$state/cffake.url")

# The demo's config: the Cloudflare account and the Workers script and Pages
# project whose deployments to trace.
cat > "$state/changeproof.yaml" <<'YAML'
cloudflare:
  account_id: 0123456789abcdef0123456789abcdef
policies:
  deployments:
    cloudflare:
      workers:
        - {script: payments-api, repo: acme/payments}
      pages:
        - {project: web}
YAML

if [ ! -f "$state/signing.key" ]; then
  "$bin/changeproof" keygen --out "$state/signing.key"
fi

echo
echo "== changeproof collect branch-protection --org acme  (fake GitHub at $api)"
# A token the fake accepts; it shows up nowhere in output or evidence.
GITHUB_TOKEN=demo-token-not-a-secret "$bin/changeproof" collect branch-protection \
  --org acme --store "file://$store" --key "$state/signing.key" --github-api-url "$api"

echo
echo "== changeproof collect merge-activity --repo acme/payments --repo acme/web  (the demo week)"
# The window is fixed: the sample organisation's merge activity happened in
# the week of 2026-11-16, and a window relative to now would drift away from
# it. acme/secret-project is left out: the token may not list its pull
# requests, which would make the collection incomplete (exit 2).
GITHUB_TOKEN=demo-token-not-a-secret "$bin/changeproof" collect merge-activity \
  --repo acme/payments --repo acme/web --from 2026-11-16 --to 2026-11-23 \
  --store "file://$store" --key "$state/signing.key" --github-api-url "$api"

echo
echo "== changeproof collect ci-status --repo acme/payments --repo acme/web  (the demo week)"
GITHUB_TOKEN=demo-token-not-a-secret "$bin/changeproof" collect ci-status \
  --repo acme/payments --repo acme/web --from 2026-11-16 --to 2026-11-23 \
  --store "file://$store" --key "$state/signing.key" --github-api-url "$api"

echo
echo "== changeproof collect deployments --repo acme/payments --repo acme/web  (GitHub, Workers, Pages; fake Cloudflare at $cfapi)"
GITHUB_TOKEN=demo-token-not-a-secret CLOUDFLARE_API_TOKEN=demo-cf-token-not-a-secret "$bin/changeproof" collect deployments \
  --repo acme/payments --repo acme/web --from 2026-11-16 --to 2026-11-23 --config "$state/changeproof.yaml" \
  --store "file://$store" --key "$state/signing.key" --github-api-url "$api" --cloudflare-api-url "$cfapi"

# Scheduled jobs: the same collectors from one config file, each over the
# window between its schedule's last two ticks. `run --once` is what a
# Kubernetes CronJob or systemd timer calls; `run` alone is the daemon.
# Windows follow the real clock, so these runs see whatever of the sample
# organisation falls into them; run the demo again and nothing is due until
# each job's next tick. (ci-status is left out: the fake GitHub serves
# workflow runs only for the demo week's exact query.)
cat > "$state/jobs.yaml" <<YAML
store: file://../$store
key: signing.key
github:
  api_url: $api
cloudflare:
  account_id: 0123456789abcdef0123456789abcdef
  api_url: $cfapi
scheduler:
  timezone: Europe/Berlin
  listen: "off"
jobs:
  - name: branch-protection-daily
    collector: branch-protection
    schedule: "0 6 * * *"
    scope: {orgs: [acme]}
  - name: merge-activity-daily
    collector: merge-activity
    schedule: "@daily"
    scope: {repos: [acme/payments, acme/web]}
  - name: deployments-weekly
    collector: deployments
    schedule: "0 7 * * 1"
    timezone: UTC
    scope: {repos: [acme/payments, acme/web]}
    policy:
      cloudflare:
        workers: [{script: payments-api, repo: acme/payments}]
        pages: [{project: web}]
YAML

echo
echo "== changeproof config validate $state/jobs.yaml"
export GITHUB_TOKEN=demo-token-not-a-secret CLOUDFLARE_API_TOKEN=demo-cf-token-not-a-secret
"$bin/changeproof" config validate "$state/jobs.yaml"

echo
echo "== changeproof run --config $state/jobs.yaml --once  (every job's due window; signed run records under $store/runs/)"
"$bin/changeproof" run --config "$state/jobs.yaml" --once

# The daemon, briefly: a job every 2 seconds for about 5 seconds, its
# metrics scraped, then SIGTERM. Its windows join: each starts where the
# one before ended. On a later demo run it catches up (at most one window
# here; the rest is recorded as missed).
cat > "$state/daemon.yaml" <<YAML
store: file://../$store
key: signing.key
github:
  api_url: $api
scheduler:
  listen: 127.0.0.1:${DEMO_METRICS_PORT:-48623}
  max_catch_up: 1
  shutdown_grace: 10s
jobs:
  - name: branch-protection-every-2s
    collector: branch-protection
    schedule: "@every 2s"
    scope: {orgs: [acme]}
YAML
# The auditor's bundle below covers the demo week up to this moment: the
# daemon's windows up to here are collected before it stops.
period_end=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo
echo "== changeproof run --config $state/daemon.yaml  (the daemon, for 5 seconds)"
"$bin/changeproof" run --config "$state/daemon.yaml" &
daemon=$!
sleep 5
if command -v curl >/dev/null 2>&1; then
  echo "-- curl http://127.0.0.1:${DEMO_METRICS_PORT:-48623}/metrics | grep changeproof_job_"
  curl -fsS "http://127.0.0.1:${DEMO_METRICS_PORT:-48623}/metrics" | grep '^changeproof_job_' | grep -v ' 0$' || true
fi
kill -TERM "$daemon"
wait "$daemon"
unset GITHUB_TOKEN CLOUDFLARE_API_TOKEN

echo
echo "== changeproof verify $store --pubkey $state/signing.key.pub"
"$bin/changeproof" verify "$store" --pubkey "$state/signing.key.pub"

echo
echo "== changeproof coverage --config $state/jobs.yaml --from 2026-11-16  (windows expected by each schedule, and what covers them)"
"$bin/changeproof" coverage --config "$state/jobs.yaml" --from 2026-11-16 --pubkey "$state/signing.key.pub"

bundle="$state/bundle-$(date -u +%Y%m%dT%H%M%SZ).zip"
echo
echo "== changeproof bundle --from 2026-11-16 --to $period_end --out $bundle  (for the auditor)"
"$bin/changeproof" bundle --store "file://$store" --key "$state/signing.key" --from 2026-11-16 --to "$period_end" --out "$bundle"

echo
echo "== changeproof verify $bundle --pubkey $state/signing.key.pub  (offline)"
"$bin/changeproof" verify "$bundle" --pubkey "$state/signing.key.pub"

echo
echo "== changeproof sample --bundle $bundle --size 5 --seed 2026  (what the auditor tests)"
"$bin/changeproof" sample --bundle "$bundle" --size 5 --seed 2026 --pubkey "$state/signing.key.pub" | cut -d, -f1,2,6,11,12

echo
echo "== openssl alone: the steps of VERIFY.md in the unzipped bundle"
rm -rf "$state/bundle"
unzip -q "$bundle" -d "$state/bundle"
(cd "$state/bundle" && PUBKEY="$(cd .. && pwd)/signing.key.pub" bash -c "$(awk '/^```sh/{f=1;next} /^```/{f=0} f' VERIFY.md)")
echo "open $state/bundle/report.html in a browser for the auditor's report"
