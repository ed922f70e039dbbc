#!/usr/bin/env python3
"""Makes the vectors/kat/*/pyca-*.txt files with Python's `cryptography` (the version is
written in each file's header): the lengths the NIST files do not cover (messages over one
short APDU, keys over a hash block, padded AES modes). Inputs are bytes of SHAKE-128 over a
label, so a rerun gives the same files. Usage: python3 gen_pyca.py (in vectors/kat)."""
import cryptography
from cryptography.hazmat.primitives import cmac, hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def data(label, n):
    h = hashes.Hash(hashes.SHAKE128(n if n else 1))
    h.update(label.encode())
    return h.finalize()[:n]


HEAD = f"# Python cryptography {cryptography.__version__}, vectors/kat/gen_pyca.py\n"
HASHES = {"SHA1": hashes.SHA1, "SHA224": hashes.SHA224, "SHA256": hashes.SHA256,
          "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}


def write(path, records):
    with open(path, "w", encoding="ascii") as f:
        f.write(HEAD + "\n")
        for r in records:
            for k, v in r.items():
                f.write(f"{k} = {v.hex() if isinstance(v, bytes) else v}\n")
            f.write("\n")


# Digests of messages longer than one APDU.
recs = []
for name, alg in HASHES.items():
    for n in (255, 256, 1000):
        m = data(f"sha {name} {n}", n)
        h = hashes.Hash(alg())
        h.update(m)
        recs.append({"Alg": name, "Len": n, "Msg": m, "MD": h.finalize()})
write("sha/pyca-sha-long.txt", recs)

# HMAC: keys shorter than, equal to and longer than the hash block (64 or 128 bytes; the JC
# HMACKey takes up to 128), messages up to 600 bytes.
recs = []
for name in ("SHA1", "SHA256", "SHA384", "SHA512"):
    for kl in (1, 20, 64, 65, 128):
        for ml in (0, 1, 64, 129) + ((600,) if kl in (20, 128) else ()):
            k = data(f"hmac key {name} {kl} {ml}", kl)
            m = data(f"hmac msg {name} {kl} {ml}", ml)
            h = hmac.HMAC(k, HASHES[name]())
            h.update(m)
            recs.append({"Alg": name, "Key": k, "Msg": m if m else "", "Mac": h.finalize()})
write("hmac/pyca-hmac.txt", recs)

# AES-CMAC (SP 800-38B), every key size, around the block boundaries and over one APDU.
recs = []
for kl in (16, 24, 32):
    for ml in (0, 1, 15, 16, 17, 31, 32, 33, 64, 300, 1000):
        k = data(f"cmac key {kl} {ml}", kl)
        m = data(f"cmac msg {kl} {ml}", ml)
        c = cmac.CMAC(algorithms.AES(k))
        c.update(m)
        recs.append({"Key": k, "Msg": m if m else "", "Mac": c.finalize()})
write("cmac/pyca-cmac-aes.txt", recs)


# AES ECB/CBC with the JC paddings: PKCS5 (PKCS#7 on 16-byte blocks), ISO/IEC 9797-1 method 1
# (zeros to a block boundary, none if aligned and not empty) and method 2 (80 then zeros).
def pad(mode, m):
    if mode == "PKCS5":
        p = padding.PKCS7(128).padder()
        return p.update(m) + p.finalize()
    if mode == "M2":
        m = m + b"\x80"
    if len(m) % 16 == 0 and len(m) > 0:
        return m
    return m + bytes(16 - len(m) % 16)


recs = []
for kl in (16, 24, 32):
    for chain in ("ECB", "CBC"):
        for pm in ("PKCS5", "M1", "M2"):
            for ml in (0, 1, 15, 16, 17, 100) + ((300,) if kl == 16 else ()):
                if pm == "M1" and ml == 0:
                    continue
                k = data(f"aes key {kl} {chain} {pm} {ml}", kl)
                iv = data(f"aes iv {kl} {chain} {pm} {ml}", 16) if chain == "CBC" else b""
                m = data(f"aes msg {kl} {chain} {pm} {ml}", ml)
                e = Cipher(algorithms.AES(k), modes.ECB() if chain == "ECB" else modes.CBC(iv)).encryptor()
                ct = e.update(pad(pm, m)) + e.finalize()
                r = {"Mode": chain, "Pad": pm, "Key": k}
                if iv:
                    r["IV"] = iv
                r.update({"Plaintext": m if m else "", "Ciphertext": ct})
                recs.append(r)
write("aes/pyca-aes-padded.txt", recs)
