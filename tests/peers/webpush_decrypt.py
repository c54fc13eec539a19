"""Decrypts a Web Push message body as the subscribing browser would, with PyPI http-ece
(an implementation independent of the relay's): RFC 8291 (Message Encryption for Web Push)
over RFC 8188 aes128gcm. Used by tests/tests/relay_push.rs.

Usage: webpush_decrypt.py SUBSCRIBER_KEY_PEM AUTH_SECRET_B64URL BODY_FILE
Prints the plaintext on stdout; a body that does not decrypt exits non-zero with the reason.
"""

import base64
import sys

import http_ece
from cryptography.hazmat.primitives.serialization import load_pem_private_key


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    key_pem, auth, body_file = sys.argv[1:]
    with open(key_pem, "rb") as f:
        private_key = load_pem_private_key(f.read(), password=None)
    with open(body_file, "rb") as f:
        body = f.read()
    # aes128gcm carries the sender's ephemeral public key as the header's keyid (RFC 8291 §4).
    plain = http_ece.decrypt(body, private_key=private_key, auth_secret=b64url(auth), version="aes128gcm")
    sys.stdout.buffer.write(plain)


if __name__ == "__main__":
    main()
