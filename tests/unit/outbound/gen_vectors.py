#!/usr/bin/env python3
"""Independent known-answer vectors for the outbound unit tests.

Written from the protocol descriptions with Python's hashlib/hmac and the
`cryptography` package (Debian python3-cryptography), so that the C++ code is
checked against a second implementation. Prints C++-ready hex strings.
"""
import hashlib
import struct
import zlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def evp_bytes_to_key(password: bytes, n: int) -> bytes:
    out, prev = b"", b""
    while len(out) < n:
        prev = hashlib.md5(prev + password).digest()
        out += prev
    return out[:n]


def ss_chunk_stream(password: bytes, salt: bytes, plaintext: bytes) -> bytes:
    key = evp_bytes_to_key(password, 16)
    sub = HKDF(hashes.SHA1(), 16, salt, b"ss-subkey").derive(key)
    aead = AESGCM(sub)
    out, counter = salt, 0

    def nonce():
        return counter.to_bytes(12, "little")

    out += aead.encrypt(nonce(), struct.pack(">H", len(plaintext)), None)
    counter += 1
    out += aead.encrypt(nonce(), plaintext, None)
    return out


def ss_udp(password: bytes, salt: bytes, plaintext: bytes) -> bytes:
    key = evp_bytes_to_key(password, 32)
    sub = HKDF(hashes.SHA1(), 32, salt, b"ss-subkey").derive(key)
    return salt + AESGCM(sub).encrypt(bytes(12), plaintext, None)


# VMess KDF: an HMAC whose hash is the HMAC of the level below.
def make_hash(keys):
    if not keys:
        return lambda m: hashlib.sha256(m).digest()
    inner = make_hash(keys[:-1])
    key = keys[-1]
    if len(key) > 64:
        key = inner(key)
    key = key.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    return lambda m: inner(opad + inner(ipad + m))


def kdf(key: bytes, *path: bytes) -> bytes:
    return make_hash([b"VMess AEAD KDF", *path])(key)


def main():
    print("evp_bytes_to_key(foobar,32) =", evp_bytes_to_key(b"foobar", 32).hex())
    salt = bytes(range(1, 17))
    print("ss aes-128-gcm stream(lab, salt 01..10, 'hello') =", ss_chunk_stream(b"lab", salt, b"hello").hex())
    salt32 = bytes(range(32))
    pkt = ss_udp(b"lab", salt32, b"\x01\x7f\x00\x00\x01\x00\x35" + b"dns?")
    print("ss aes-256-gcm udp(lab, salt 00..1f, 127.0.0.1:53 'dns?') =", pkt.hex())
    demo = kdf(b"Demo Key for KDF Value Test", b"Demo Path for KDF Value Test",
               b"Demo Path for KDF Value Test2", b"Demo Path for KDF Value Test3")
    print("kdf demo =", demo.hex())
    uuid = bytes.fromhex("6f1f6a3e2c4b4d8a9a553c1d2e7f8a90")
    cmd = hashlib.md5(uuid + b"c48619fe-8f02-49e0-b9e9-edf763e17e21").digest()
    print("cmdKey =", cmd.hex())
    plain = struct.pack(">qI", 1700000000, 0x01020304)
    plain += struct.pack(">I", zlib.crc32(plain) & 0xFFFFFFFF)
    enc = Cipher(algorithms.AES(kdf(cmd, b"AES Auth ID Encryption")[:16]), modes.ECB()).encryptor()
    auth_id = enc.update(plain) + enc.finalize()
    print("authId(t=1700000000, r=0x01020304) =", auth_id.hex())
    nonce8 = bytes(range(8))
    header = b"header-plaintext"
    lkey = kdf(cmd, b"VMess Header AEAD Key_Length", auth_id, nonce8)[:16]
    lnonce = kdf(cmd, b"VMess Header AEAD Nonce_Length", auth_id, nonce8)[:12]
    hkey = kdf(cmd, b"VMess Header AEAD Key", auth_id, nonce8)[:16]
    hnonce = kdf(cmd, b"VMess Header AEAD Nonce", auth_id, nonce8)[:12]
    sealed = auth_id + AESGCM(lkey).encrypt(lnonce, struct.pack(">H", len(header)), auth_id) + nonce8
    sealed += AESGCM(hkey).encrypt(hnonce, header, auth_id)
    print("sealHeader('header-plaintext', nonce 00..07) =", sealed.hex())


if __name__ == "__main__":
    main()
