#!/usr/bin/env bash
# Writes seed corpora into tests/fuzz/corpus/<target>/ (git-ignored) from the repo's own
# fixtures, a few hand-made documents, and, when ../shared/vectors is beside the repo, files
# from the shared test vectors (read in place, never copied into the repo).
# Usage: tests/fuzz/seed.sh [VECTORS_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
vectors=${1:-$repo/../shared/vectors}
c=$here/corpus
mkdir -p "$c"

put() { # put TARGET NAME CONTENT...
    local t=$1 n=$2; shift 2
    mkdir -p "$c/$t"
    printf '%s' "$*" >"$c/$t/$n"
}
copy() { # copy TARGET FILE...
    local t=$1; shift
    mkdir -p "$c/$t"
    for f in "$@"; do
        [ -f "$f" ] && cp "$f" "$c/$t/$(echo "$f" | sha256sum | cut -c1-16)-$(basename "$f")"
    done
    return 0
}

# OCSP: the OpenSSL-made responses (and the request, for the unverified reader too).
copy ocsp_response "$repo"/tests/data/ocsp-openssl/*.der
copy ocsp_unverified "$repo"/tests/data/ocsp-openssl/*.der
copy certificate "$repo"/tests/data/ocsp-openssl/{ca,leaf}.der "$here"/fixtures/*.der
copy crl "$repo"/tests/data/ocsp-openssl/ca.der

# Registry auth.
put www_authenticate bearer 'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull"'
put www_authenticate bearer-error 'Bearer realm="https://auth.example/token",error="insufficient_scope",scope="repository:a:pull,push"'
put www_authenticate basic 'Basic realm="registry"'
put www_authenticate token-params 'bearer realm=https://a/t, service=s'
put token_response token '{"token":"abc","expires_in":300,"issued_at":"2026-01-01T00:00:00Z"}'
put token_response access '{"access_token":"abc","refresh_token":"r","expires_in":0}'
put token_response empty '{"token":""}'

# Bindir verifier standard input.
z=sha256:0000000000000000000000000000000000000000000000000000000000000000
put bindir_descriptor ok "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$z\",\"size\":525}"
put bindir_descriptor annotated "{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"$z\",\"size\":1,\"annotations\":{\"a\":\"b\"}}"
put bindir_descriptor blank '  
'

# Referrers: an index of two signatures and an image, and a signature manifest of the target.
s=sha256:1111111111111111111111111111111111111111111111111111111111111111
put referrers_index index "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$s\",\"size\":700,\"artifactType\":\"application/vnd.cncf.notary.signature\",\"annotations\":{\"io.cncf.notary.x509chain.thumbprint#S256\":\"[]\"}},{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$z\",\"size\":1,\"artifactType\":\"application/example\"}]}"
put referrers_index signature "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"artifactType\":\"application/vnd.cncf.notary.signature\",\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2},\"layers\":[{\"mediaType\":\"application/jose+json\",\"digest\":\"$s\",\"size\":2000}],\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$z\",\"size\":7}}"
put referrers_index legacy "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.cncf.notary.signature\",\"digest\":\"$s\",\"size\":2},\"layers\":[],\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$z\",\"size\":7}}"
copy manifest "$c"/referrers_index/*

# CRI PullImageRequest bodies (protobuf), framed and not.
python3 - "$c" <<'PY'
import os, struct, sys, hashlib, json
c = sys.argv[1]
def v(n):
    out = b""
    while True:
        b = n & 0x7f; n >>= 7
        if n: out += bytes([b | 0x80])
        else: return out + bytes([b])
def ld(num, data): return v(num << 3 | 2) + v(len(data)) + data
image = ld(1, ld(1, b"registry.example/team/app:v1") + ld(2, ld(1, b"k")+ld(2, b"v")) + ld(3, b"rt"))
auth = ld(2, ld(1, b"user") + ld(2, b"pass") + ld(3, b"dXNlcjpwYXNz"))
sandbox = ld(3, ld(1, ld(1, b"pod") + ld(3, b"team-ns")))
unknown = v(9 << 3 | 0) + v(7) + ld(15, b"future")
os.makedirs(f"{c}/cri_wire", exist_ok=True)
for name, msg in {"plain": image, "full": image + auth + sandbox + unknown, "two-images": image + unknown + image}.items():
    for ref in (b"", b"registry.example/team/app@sha256:" + b"0" * 64):
        open(f"{c}/cri_wire/{name}-{len(ref)}", "wb").write(bytes([len(ref)]) + ref + msg)
    open(f"{c}/cri_wire/{name}-framed", "wb").write(b"\0" + struct.pack(">I", len(msg)) + msg)
# A revocation bundle holding the fixture OCSP response and CA, unsigned and with a signature block.
os.makedirs(f"{c}/revocation_bundle", exist_ok=True)
data = os.path.join(os.path.dirname(c), "..", "data", "ocsp-openssl")
items = [("ocsp", open(f"{data}/resp.der", "rb").read()), ("certificate", open(f"{data}/ca.der", "rb").read())]
header = json.dumps({"version": 1, "createdAt": "2026-12-01T00:00:00Z", "producer": "seed.sh",
    "items": [{"kind": k, "length": len(b), "sha256": hashlib.sha256(b).hexdigest()} for k, b in items]},
    separators=(",", ":")).encode()
body = b"notaryd-rb" + struct.pack(">HI", 1, len(header)) + header + b"".join(b for _, b in items)
sig = json.dumps({"algorithm": "ecdsa-p256-sha256", "keyId": "00", "signature": "AAAA"}).encode()
open(f"{c}/revocation_bundle/unsigned", "wb").write(body)
open(f"{c}/revocation_bundle/signed", "wb").write(body + b"notaryd-sig" + struct.pack(">I", len(sig)) + sig)
open(f"{c}/revocation_bundle/signature", "wb").write(sig)
PY

# Times.
put time_rfc3339 z '2026-12-08T02:39:05Z'
put time_rfc3339 frac '2026-12-08T02:39:05.123456789+05:30'

# Timestamp: the structure-aware target builds a valid token from an empty input; a few
# byte patterns steer it to other branches.
mkdir -p "$c/timestamp"
: >"$c/timestamp/empty"
head -c 64 /dev/zero | tr '\0' '\377' >"$c/timestamp/ones"

# Shared vectors, read in place.
if [ -d "$vectors" ]; then
    copy crl $(find "$vectors" -name '*.crl' | head -200)
    copy timestamp $(find "$vectors" -name '*.tsr' -o -name '*.tst' | head -100)
    copy certificate $(find "$vectors" \( -name '*.crt' -o -name '*.cer' -o -name '*.der' \) | head -200)
    copy certificate_file $(find "$vectors" \( -name '*.crt' -o -name '*.pem' \) | head -200)
    copy envelope_jws $(find "$vectors" -name '*.jws.sig' | head -100)
    copy envelope_cose $(find "$vectors" -name '*.cose.sig' | head -100)
    copy trust_policy $(find "$vectors" -iname '*trustpolicy*.json' | head -100)
    copy manifest $(find "$vectors" -path '*manifest*' -name '*.json' | head -100)
fi
for d in "$c"/*/; do printf '%-20s %s\n' "$(basename "$d")" "$(ls "$d" | wc -l)"; done
