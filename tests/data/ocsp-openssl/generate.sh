#!/usr/bin/env bash
# Regenerates the OpenSSL-made OCSP fixtures in this directory (tests/it/ocsp.rs,
# `openssl_*` tests): a second, independent encoder next to the test responder in
# tests/common/ocsp.rs. Needs `openssl` (3.x). Keys live in a temporary directory and are
# thrown away; only certificates, the request and the responses are kept. Run from anywhere:
#   tests/data/ocsp-openssl/generate.sh
set -euo pipefail
out="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 36500 \
  -subj "/C=US/O=probe/CN=Probe CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
# A serial with the high bit set: its DER INTEGER carries a leading zero octet.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key \
  -out leaf.csr -subj "/C=US/O=probe/CN=Probe Leaf"
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=codeSigning" "authorityInfoAccess=OCSP;URI:http://127.0.0.1:1/" > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x8a0102030405 \
  -days 36500 -out leaf.pem -extfile leaf.ext
openssl req -newkey rsa:2048 -nodes -keyout resp.key -out resp.csr \
  -subj "/C=US/O=probe/CN=Probe Responder"
printf '%s\n' "keyUsage=critical,digitalSignature" "extendedKeyUsage=critical,OCSPSigning" > resp.ext
openssl x509 -req -in resp.csr -CA ca.pem -CAkey ca.key -set_serial 77 -days 36500 \
  -out resp.pem -extfile resp.ext

printf 'V\t301231000000Z\t\t8A0102030405\tunknown\t/C=US/O=probe/CN=Probe Leaf\n' > good.txt
printf 'R\t301231000000Z\t261015123000Z,keyTime,20261001080000Z\t8A0102030405\tunknown\t/C=US/O=probe/CN=Probe Leaf\n' > revoked.txt
: > empty.txt

openssl ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout req.der
openssl ocsp -sha256 -issuer ca.pem -cert leaf.pem -no_nonce -reqout req256.der
openssl ocsp -issuer ca.pem -cert leaf.pem -reqout reqnonce.der
signer=(-CA ca.pem -rsigner resp.pem -rkey resp.key -ndays 7)
openssl ocsp -index good.txt "${signer[@]}" -reqin req.der -respout good_delegated.der
openssl ocsp -index good.txt "${signer[@]}" -reqin req256.der -respout good_sha256_certid.der
openssl ocsp -index good.txt "${signer[@]}" -reqin reqnonce.der -respout good_nonce.der
openssl ocsp -index good.txt "${signer[@]}" -resp_no_certs -reqin req.der -respout good_delegated_no_certs.der
openssl ocsp -index good.txt "${signer[@]}" -rmd sha1 -reqin req.der -respout good_sha1_signature.der
openssl ocsp -index empty.txt -CA ca.pem -rsigner resp.pem -rkey resp.key -reqin req.der -respout unknown_no_next_update.der
openssl ocsp -index revoked.txt -CA ca.pem -rsigner ca.pem -rkey ca.key -ndays 7 -resp_key_id \
  -reqin req.der -respout revoked_by_ca_by_key.der

for c in ca leaf resp; do openssl x509 -in "$c.pem" -outform der -out "$out/$c.der"; done
cp req.der good_delegated.der good_sha256_certid.der good_nonce.der good_delegated_no_certs.der \
  good_sha1_signature.der unknown_no_next_update.der revoked_by_ca_by_key.der "$out/"
openssl version > "$out/OPENSSL_VERSION"
