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


# DES / 3DES CBC-MACs as JC's Signature.ALG_DES_MAC8_* compute them (zero IV), MAC4 being the
# first 4 bytes: CBC-MAC over the whole key (ISO/IEC 9797-1 MAC algorithm 1) with padding
# NOPAD, M1 (zeros), M2 (80 then zeros), PKCS5; MAC algorithm 3 (retail MAC: single-DES CBC
# under K1, then e_K1(d_K2(H))) with M1 and M2. Single DES is TripleDES(k * 3).
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES  # noqa: E402


def des_pad(mode, m):
    if mode == "PKCS5":
        p = padding.PKCS7(64).padder()
        return p.update(m) + p.finalize()
    if mode == "M2":
        m = m + b"\x80"
    if mode == "NOPAD" or (len(m) % 8 == 0 and len(m) > 0):
        return m
    return m + bytes(8 - len(m) % 8)


def cbc_last(key, data):
    k = key if len(key) != 8 else key * 3
    e = Cipher(TripleDES(k), modes.CBC(bytes(8))).encryptor()
    return (e.update(data) + e.finalize())[-8:]


def des_block(key8, block, enc):
    c = Cipher(TripleDES(key8 * 3), modes.ECB())
    op = c.encryptor() if enc else c.decryptor()
    return op.update(block) + op.finalize()


recs = []
for pm in ("NOPAD", "M1", "M2", "PKCS5"):
    for kl in (8, 16, 24):
        for ml in (8, 16, 104, 296) if pm == "NOPAD" else (1, 7, 8, 9, 16, 100, 300):
            k = data(f"des mac key {pm} {kl} {ml}", kl)
            m = data(f"des mac msg {pm} {kl} {ml}", ml)
            recs.append({"Alg": "MAC8_" + pm, "Key": k, "Msg": m, "Mac": cbc_last(k, des_pad(pm, m))})
for pm in ("M1", "M2"):
    for kl in (8, 16):
        for ml in (1, 7, 8, 9, 16, 100, 300):
            k = data(f"des alg3 key {pm} {kl} {ml}", kl)
            m = data(f"des alg3 msg {pm} {kl} {ml}", ml)
            k1, k2 = k[:8], k[8:] if kl == 16 else k[:8]
            h = cbc_last(k1, des_pad(pm, m))
            mac = des_block(k1, des_block(k2, h, False), True)
            recs.append({"Alg": "MAC8_" + pm + "_ALG3", "Key": k, "Msg": m, "Mac": mac})
write("tdes/pyca-des-mac.txt", recs)
