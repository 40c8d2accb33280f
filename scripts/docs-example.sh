#!/usr/bin/env bash
# Regenerates docs/example (a one-envelope store and its public key) and the
# example section of docs/evidence.md from a real run against the fake
# GitHub. Run it when the evidence format changes; TestDocsExampleIsGenuine
# fails until then.
set -euo pipefail
cd "$(dirname "$0")/.."
make build >/dev/null
work=$(mktemp -d)
trap 'kill "$fake" 2>/dev/null || true; rm -rf "$work"' EXIT
./bin/ghfake --fixture testdata/github/sample-org --url-file "$work/url" 2>/dev/null &
fake=$!
for _ in $(seq 1 100); do [ -s "$work/url" ] && break; sleep 0.1; done
./bin/changeproof keygen --out "$work/k" >/dev/null
GITHUB_TOKEN=docs-example ./bin/changeproof collect branch-protection --repo acme/web \
  --store "file://$work/store" --key "$work/k" --github-api-url "$(cat "$work/url")" \
  --from 2026-11-22 --to 2026-11-23 >/dev/null
rm -rf docs/example
mkdir -p docs/example
cp -r "$work/store" docs/example/store
chmod -R u+w docs/example/store
cp "$work/k.pub" docs/example/signing.key.pub
python3 - "$(find docs/example/store/evidence -name '*.json')" <<'PY'
import base64, json, sys
f = sys.argv[1]
env = json.load(open(f))
st = json.loads(base64.b64decode(env["payload"]))
rel = f[len("docs/"):]
block = f'''The store in [`docs/example/store`](example/store) holds the evidence of one
run over `acme/web` (protected by rulesets only) against the fake GitHub of
`make demo` (hence the loopback URL in `sources`), with the public key that
signed it in [`docs/example/signing.key.pub`](example/signing.key.pub). Try:

```sh
changeproof verify docs/example/store --pubkey docs/example/signing.key.pub
```

The envelope, [`{rel}`]({rel}), abridged here only in its base64 payload:

```json
{{
  "payloadType": "{env['payloadType']}",
  "payload": "{env['payload'][:60]}…",
  "signatures": [
    {{
      "keyid": "{env['signatures'][0]['keyid']}",
      "sig": "{env['signatures'][0]['sig']}"
    }}
  ]
}}
```

Its payload decoded — the in-toto statement, in full:

```json
{json.dumps(st, indent=2, ensure_ascii=False)}
```
'''
p = open("docs/evidence.md").read()
a = p.index("<!-- example:begin -->") + len("<!-- example:begin -->\n")
b = p.index("<!-- example:end -->")
open("docs/evidence.md", "w").write(p[:a] + block + p[b:])
PY
echo "docs/example regenerated"
