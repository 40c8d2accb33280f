#!/usr/bin/env bash
# The demo behind `make demo`: a fake GitHub on 127.0.0.1 serving the bundled
# sample organisation "acme", the branch-protection collector writing signed
# evidence to ./evidence-demo, and verification of everything stored there.
# Run again to append to the same hash chain.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=./bin
state=.demo
store=evidence-demo
mkdir -p "$state"
rm -f "$state/ghfake.url"

"$bin/ghfake" --fixture testdata/github/sample-org --addr 127.0.0.1:0 --url-file "$state/ghfake.url" &
fake=$!
trap 'kill "$fake" 2>/dev/null || true; wait "$fake" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  [ -s "$state/ghfake.url" ] && break
  kill -0 "$fake" 2>/dev/null || { echo "demo: the fake GitHub did not start" >&2; exit 2; }
  sleep 0.1
done
[ -s "$state/ghfake.url" ] || { echo "demo: the fake GitHub did not report its address within 10s" >&2; exit 2; }
api=$(cat "$state/ghfake.url")

if [ ! -f "$state/signing.key" ]; then
  "$bin/changeproof" keygen --out "$state/signing.key"
fi

echo
echo "== changeproof collect branch-protection --org acme  (fake GitHub at $api)"
# A token the fake accepts; it shows up nowhere in output or evidence.
GITHUB_TOKEN=demo-token-not-a-secret "$bin/changeproof" collect branch-protection \
  --org acme --store "file://$store" --key "$state/signing.key" --github-api-url "$api"

echo
echo "== changeproof verify $store --pubkey $state/signing.key.pub"
"$bin/changeproof" verify "$store" --pubkey "$state/signing.key.pub"
