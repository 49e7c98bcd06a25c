"""The WeChat official-account message crypto, per its published spec: signature = SHA-1 of the
sorted (token, timestamp, nonce[, encrypted message]) joined; encrypted mode = AES-256-CBC with the
key base64-decoded from the 43-character EncodingAESKey, IV = its first 16 bytes, PKCS#7 padding to
32-byte blocks, plaintext = 16 random bytes + 4-byte big-endian length + message + AppID."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CryptoError(ValueError):
    pass


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_ok(expected: str, *parts: str) -> bool:
    return hmac.compare_digest(
        signature(*parts).encode("utf-8", "surrogatepass"), (expected or "").encode("utf-8", "surrogatepass")
    )


def _key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise CryptoError("EncodingAESKey must decode to 32 bytes (43 characters)")
    return key


def encrypt(encoding_aes_key: str, app_id: str, message: str, random16: bytes | None = None) -> str:
    key = _key(encoding_aes_key)
    body = message.encode()
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + app_id.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def decrypt(encoding_aes_key: str, app_id: str, encrypted: str) -> str:
    key = _key(encoding_aes_key)
    try:
        data = base64.b64decode(encrypted, validate=True)
    except ValueError:
        raise CryptoError("not base64") from None
    if not data or len(data) % 16:
        raise CryptoError("not whole AES blocks")
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(data) + dec.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or len(plain) < 20 + pad:
        raise CryptoError("bad padding")
    plain = plain[:-pad]
    (length,) = struct.unpack(">I", plain[16:20])
    msg, tail = plain[20 : 20 + length], plain[20 + length :]
    if len(msg) != length or tail.decode(errors="replace") != app_id:
        raise CryptoError("message is not for this AppID")
    return msg.decode()
