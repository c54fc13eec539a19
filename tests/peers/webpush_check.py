"""Checks what the relay pushes with implementations independent of its own (PyPI http-ece and
cryptography). Used by the push tests in tests/tests/relay.rs through webpush.sh.

Usage:
  webpush_check.py decrypt SUBSCRIBER_KEY_PEM AUTH_SECRET_B64URL BODY_FILE
      Decrypts a Web Push body as the subscribing browser would: RFC 8291 (Message Encryption
      for Web Push) over RFC 8188 aes128gcm; prints the plaintext.
  webpush_check.py verify-jwt PUBLIC_KEY_PEM JWT
      Verifies a JWT's ES256 signature (RFC 7518 §3.4: r || s over "header.claims") with the
      P-256 public key; prints "valid".
A body that does not decrypt, or a signature that does not verify, exits non-zero with the reason.
"""

import base64
import sys

import http_ece
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decrypt(key_pem, auth, body_file):
    with open(key_pem, "rb") as f:
        private_key = load_pem_private_key(f.read(), password=None)
    with open(body_file, "rb") as f:
        body = f.read()
    # aes128gcm carries the sender's ephemeral public key as the header's keyid (RFC 8291 §4).
    plain = http_ece.decrypt(body, private_key=private_key, auth_secret=b64url(auth), version="aes128gcm")
    sys.stdout.buffer.write(plain)


def verify_es256(public_pem, jwt):
    with open(public_pem, "rb") as f:
        public_key = load_pem_public_key(f.read())
    signed, _, signature = jwt.rpartition(".")
    raw = b64url(signature)
    if len(raw) != 64:
        sys.exit(f"an ES256 signature is 64 bytes, this one {len(raw)}")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public_key.verify(der, signed.encode(), ec.ECDSA(hashes.SHA256()))
    print("valid")


def main():
    commands = {"decrypt": (decrypt, 3), "verify-jwt": (verify_es256, 2)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) - 2 != commands[sys.argv[1]][1]:
        sys.exit(__doc__)
    command, _ = commands[sys.argv[1]]
    command(*sys.argv[2:])


if __name__ == "__main__":
    main()
