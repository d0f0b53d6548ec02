#!/bin/sh
# Regenerates the openssl-made fixtures used by the tests (things rcgen+ring cannot make):
#   SM2/SM3 CA + leaf, RSA-2048 CA (sha256WithRSA), RSA-1024 leaf, sha1WithRSA leaf.
# Validity is ~100 years so the committed files do not expire under the tests.
set -eu
cd "$(dirname "$0")/../src/sim/fixtures"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
DAYS=36500

# --- SM2 (GB/T 32918) CA + leaf, signed SM2-with-SM3 (OID 1.2.156.10197.1.501)
openssl genpkey -algorithm SM2 -out sm2-ca.key
openssl req -x509 -new -key sm2-ca.key -sm3 -days $DAYS \
  -subj "/C=CN/O=Test SM2 Root/CN=Test SM2 Root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out sm2-ca.pem
openssl genpkey -algorithm SM2 -out sm2-leaf.key
openssl req -new -key sm2-leaf.key -sm3 -subj "/C=CN/O=Test Gov/CN=sm2.gov.test" -out "$T/sm2.csr"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:sm2.gov.test\n' > "$T/sm2.ext"
openssl x509 -req -in "$T/sm2.csr" -CA sm2-ca.pem -CAkey sm2-ca.key -set_serial 0x5302 -sm3 \
  -days $DAYS -extfile "$T/sm2.ext" -out sm2-leaf.pem

# --- RSA-2048 CA, sha256WithRSAEncryption
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa-ca.key
openssl req -x509 -new -key rsa-ca.key -sha256 -days $DAYS \
  -subj "/C=XX/O=Test RSA Root/CN=Test RSA Root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out rsa-ca.pem

leaf() { # name keybits digest dns
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:$2 -out $1.key
  openssl req -new -key $1.key -subj "/C=XX/O=Test Gov/CN=$4" -out "$T/$1.csr"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s\n' "$4" > "$T/$1.ext"
  openssl x509 -req -in "$T/$1.csr" -CA rsa-ca.pem -CAkey rsa-ca.key -set_serial "0x$5" -$3 \
    -days $DAYS -extfile "$T/$1.ext" -out $1.pem
}
leaf rsa1024-leaf 1024 sha256 weak-rsa.gov.test 1024   # weak key, fine signature
leaf sha1-leaf    2048 sha1   sha1.gov.test     5a1    # fine key, sha1WithRSAEncryption signature
leaf rsa2048-leaf 2048 sha256 rsa.gov.test      2048   # control: everything fine (RSA server key)
