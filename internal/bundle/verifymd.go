package bundle

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	"github.com/changeproof/changeproof/evidence"
)

// verifyTemplate is VERIFY.md. Its shell block is run by the tests, as
// written, on a bundle changeproof made.
var verifyTemplate = template.Must(template.New("VERIFY.md").Parse(`# Verifying this bundle

This bundle holds change-management evidence exactly as it was stored:
DSSE envelopes with in-toto statements under ` + "`evidence/`" + ` and ` + "`runs/`" + `, the raw
facts they sign under ` + "`raw/`" + `, and ` + "`manifest.json`" + `, a signed list of every
file with its sha256. It was signed with the key whose id is

    {{.KeyID}}

Use the evidence owner's public key as you received it from them, **not** a
copy from ` + "`keys/`" + ` in this bundle (whoever made the bundle could have put any
key there). Its id is what
` + "`openssl pkey -pubin -in PUBKEY -outform DER | openssl dgst -sha256`" + ` prints.

## With changeproof

    changeproof verify BUNDLE.zip --pubkey PUBKEY

checks the manifest's signature, every file against it, every envelope's and
run record's signature and digests, the hash chains, and that each job's
windows leave no gap in the period.

## With openssl alone

Unzip the bundle, go into its folder and run this with ` + "`PUBKEY`" + ` set to the
public key file (openssl 3, a POSIX shell, grep, sed, cut):

` + "```sh" + `
set -euo pipefail
# Checks one DSSE envelope's Ed25519 signature over the pre-authentication
# encoding "DSSEv1 len(type) type len(payload) payload"; leaves the payload
# in payload.json.
check_envelope() {
  # The envelope must have exactly the shape changeproof writes.
  tr -d ' \n' < "$1" | grep -Eqx '\{"payloadType":"application/vnd\.in-toto\+json","payload":"[A-Za-z0-9+/]+=*","signatures":\[\{"keyid":"[0-9a-f]{64}","sig":"[A-Za-z0-9+/]+=*"\}\]\}'
  grep -o '"payload": *"[^"]*"' "$1" | cut -d'"' -f4 | openssl base64 -d -A > payload.json
  grep -o '"sig": *"[^"]*"' "$1" | cut -d'"' -f4 | openssl base64 -d -A > sig.bin
  TYPE=application/vnd.in-toto+json
  printf 'DSSEv1 %d %s %d ' "${#TYPE}" "$TYPE" "$(wc -c < payload.json)" > pae.bin
  cat payload.json >> pae.bin
  openssl pkeyutl -verify -pubin -inkey "$PUBKEY" -rawin -in pae.bin -sigfile sig.bin
}

# 1. The manifest is signed by the evidence key.
check_envelope manifest.json
grep -q '"predicateType":"https://changeproof.dev/bundle/v1"' payload.json
cp payload.json manifest.payload.json

# 2. Every file the manifest names has the sha256 it gives.
grep -o '"name":"[^"]*","digest":{"sha256":"[0-9a-f]*"}' manifest.payload.json | cut -d'"' -f4,10 |
  while IFS='"' read -r FILE WANT; do
    GOT=$(openssl dgst -sha256 -r "$FILE" | cut -d' ' -f1)
    [ "$GOT" = "$WANT" ] || { echo "MODIFIED: $FILE" >&2; exit 1; }
  done
echo "every file matches the signed manifest"
{{- with .Envelope}}

# 3. One evidence envelope: its signature, and the raw facts it signs.
ENVELOPE='{{.Key}}'
check_envelope "$ENVELOPE"
SUBJECT=$(grep -o '"digest":{"sha256":"[0-9a-f]*"' payload.json | head -n 1 | cut -d'"' -f6)
[ "$(openssl dgst -sha256 -r "raw/$SUBJECT.json" | cut -d' ' -f1)" = "$SUBJECT" ]
echo "raw facts match the signed subject: $SUBJECT"
grep -o '"status":"[^"]*"' payload.json | head -n 1
{{- end}}
` + "```" + `

Step 3 works the same for any file under ` + "`evidence/`" + ` (and, without the raw
facts line, under ` + "`runs/`" + `). Files the manifest does not name were added
after it was signed; ` + "`changeproof verify`" + ` reports them.

## With cosign

The envelopes are DSSE in-toto attestations, so cosign checks them too (the
evidence is not in a transparency log, hence the flag):

    cosign verify-blob-attestation --key PUBKEY --insecure-ignore-tlog=true \
      --signature {{with .Envelope}}'{{.Key}}'{{else}}ENVELOPE{{end}} --type https://changeproof.dev/evidence/v1 \
      {{with .Envelope}}raw/{{.Raw}}.json{{else}}raw/SHA256.json{{end}}
    cosign verify-blob-attestation --key PUBKEY --insecure-ignore-tlog=true \
      --signature manifest.json --type https://changeproof.dev/bundle/v1 population.csv

(cosign checks that the file's sha256 is among the statement's subjects; it
does not check the envelope's exact shape, which step 1 of the openssl
steps does.)

## What is in the bundle

| file | what |
|---|---|
| ` + "`manifest.json`" + ` | the signed manifest (predicate ` + "`https://changeproof.dev/bundle/v1`" + `): period, store, every file's sha256, the chain links just outside the period |
| ` + "`evidence/…`" + ` | every evidence envelope whose window overlaps the period |
| ` + "`raw/<sha256>.json`" + ` | the raw facts each envelope's subject names |
| ` + "`runs/JOB/…`" + ` | every run record of a scheduled job whose window overlaps the period |
| ` + "`keys/`" + ` | the public keys as stored (for reference only) |
| ` + "`population.csv`" + ` | every change and production deployment of the period, with author, approvers, checks, deployments, verdict and reasons: what you sample from (` + "`changeproof sample`" + `) |
| ` + "`report.html`" + ` | status per control, coverage of each job's windows, every exception with its reason |
`))

// exampleEnvelope is the envelope VERIFY.md's steps check by name.
type exampleEnvelope struct {
	Key string
	Raw string
}

// VerifyInstructions renders VERIFY.md for a bundle signed with keyID,
// naming the first envelope that has its raw facts in the bundle as the
// example.
func VerifyInstructions(keyID string, envelopes []string, files map[string][]byte) ([]byte, error) {
	data := struct {
		KeyID    string
		Envelope *exampleEnvelope
	}{KeyID: keyID}
	for _, k := range envelopes {
		st, err := evidence.Decode(files[k])
		if err != nil || len(st.Subject) != 1 {
			continue
		}
		raw := st.Subject[0].Digest["sha256"]
		if _, ok := files["raw/"+raw+".json"]; ok && !strings.ContainsAny(k, "'\n") {
			data.Envelope = &exampleEnvelope{Key: k, Raw: raw}
			break
		}
	}
	var b bytes.Buffer
	if err := verifyTemplate.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("VERIFY.md: %w", err)
	}
	return b.Bytes(), nil
}
