#!/usr/bin/env python3
"""Cuts the parts of eight files of pyca's `cryptography_vectors` wheel that
vectors/kat/ keeps (see README.md). Usage: extract.py DIR, DIR = the unpacked wheel's
`cryptography_vectors` directory. Every kept line is copied unchanged, in order; the CAVS header
comment lines are kept; a section or SHAAlg group is kept whole or not at all."""
import sys

src = sys.argv[1]


def sections(path):
    """(header lines, [(section line, [vector blocks])]); a block is a list of lines."""
    head, secs = [], []
    block = []
    for line in open(path, encoding="ascii"):
        line = line.rstrip("\r\n")
        if line.startswith("["):
            if block:
                secs[-1][1].append(block)
                block = []
            secs.append((line, []))
        elif not secs:
            head.append(line)
        elif line.strip() == "":
            if block:
                secs[-1][1].append(block)
            block = []
        else:
            block.append(line)
    if block:
        secs[-1][1].append(block)
    return head, secs


def keep(path, out, want, marks=("SHAAlg", "Msg")):
    """want(section, block) -> bool; a section is written if a kept block has a line starting
    with one of `marks` (a vector, not only the n, p, q, e, d of a group)."""
    head, secs = sections(path)
    with open(out, "w", encoding="ascii") as f:
        f.write("\n".join(head) + "\n")
        for sec, blocks in secs:
            kept = [b for b in blocks if want(sec, b)]
            if not any(any(l.startswith(marks) for l in b) for b in kept):
                continue
            f.write(sec + "\n\n")
            for b in kept:
                f.write("\n".join(b) + "\n\n")


def alg(b):
    return next((l.split("=")[1].strip() for l in b if l.startswith("SHAAlg")), None)


rsa = src + "/asymmetric/RSA/FIPS_186-2/"
# SigGen (the .txt form: the .rsp has no private exponent d): all of 2048 bits; the SHA-256
# group of 3072 bits (keys over one short APDU).
keep(rsa + "SigGen15_186-2.txt", "rsa/SigGen15_186-2-subset.txt",
     lambda s, b: s == "[mod = 2048]" or (s == "[mod = 3072]" and alg(b) in (None, "SHA256")))
# SigVer: the SHA-1 and SHA-256 groups of 2048 bits.
keep(rsa + "SigVer15_186-3.rsp", "rsa/SigVer15_186-3-subset.rsp",
     lambda s, b: s == "[mod = 2048]" and alg(b) in (None, "SHA1", "SHA256"))
# ECDSA SigVer: the P-256 sections (every hash).
keep(src + "/asymmetric/ECDSA/FIPS_186-3/SigVer.rsp", "ecdsa/SigVer-P256.rsp",
     lambda s, b: s.startswith("[P-256,"))
# RFC 6979 deterministic ECDSA, the P-256 and P-384 parts of OpenSSL's evp test file (lines
# unchanged).
lines = open(src + "/asymmetric/ECDSA/RFC6979/evppkey_ecdsa_rfc6979.txt", encoding="ascii").read().split("\n")
for curve in ("P-256", "P-384"):
    start = lines.index(f"Title = RFC 6979 {curve} deterministic ECDSA tests")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("Title = "))
    with open(f"ecdsa/rfc6979-{curve.replace('-', '')}.txt", "w", encoding="ascii") as f:
        f.write("\n".join(lines[start:end]).rstrip("\n") + "\n")

# RSA's PKCS#1 v2.1 draft 2 OAEP and PSS examples (pkcs-1v2-1d2-vec) and the PKCS#1 v1.5
# encryption examples derived from them: the header and key examples whose modulus a JC key can
# take (a multiple of 32 bits): OAEP/PSS 1 (1024), 9 (1536), 10 (2048); v1.5 1 (1024), 15 (2048).
for name, wanted in (("pkcs-1v2-1d2-vec/oaep-vect.txt", (1, 9, 10)), ("pkcs-1v2-1d2-vec/pss-vect.txt", (1, 9, 10)),
                     ("pkcs1v15crypt-vectors.txt", (1, 15))):
    lines = open(src + "/asymmetric/RSA/" + name, encoding="ascii").read().split("\n")
    starts = [i for i, l in enumerate(lines) if l.startswith("# Example ")]
    kept = lines[: starts[0]]
    for j, s in enumerate(starts):
        n = int(lines[s].split()[2].rstrip(":"))
        e = starts[j + 1] if j + 1 < len(starts) else len(lines)
        if n in wanted:
            kept += lines[s:e]
    base = name.split("/")[-1].replace(".txt", "-subset.txt")
    with open("rsa/" + base, "w", encoding="ascii") as f:
        f.write("\n".join(kept).rstrip("\n") + "\n")

# NIST KAS ECC validity test (SP 800-56A dhStaticUnified, ZZ only), the responder's results: the
# P-256 ([EC - SHA256]) and P-384 ([ED - SHA384]) sections.
keep(src + "/asymmetric/ECDH/KASValidityTest_ECCStaticUnified_NOKC_ZZOnly_resp.fax", "ecdh/KASValidityTest_ECCStaticUnified_NOKC_ZZOnly_resp-P256-P384.fax",
     lambda s, b: s in ("[EC - SHA256]", "[ED - SHA384]"), marks=("COUNT",))
