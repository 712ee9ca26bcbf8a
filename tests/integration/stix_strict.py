"""A strict STIX 2.1 consumer, and the schema validation every STIX output of Infohub passes.

Used by test_export.py, test_gateway.py and test_import.py (no tests here: pytest collects
nothing from this module). Runs as a command too: `stix_strict.py FILE...` (a bundle or a
TAXII envelope; exit 1 on the first problem).

STRICT. What a strict consumer does with what we send it, like the OASIS stix2 library
parsing with allow_custom=False (its default):
  - a top-level property the STIX 2.1 specification does not define for the object's type
    is refused. The allowed names come from the OASIS STIX 2.1 JSON Schemas kept in
    ../shared/stix2-json-schemas/schemas: the `properties` of the type's schema, following
    allOf / anyOf / oneOf / if-then-else and $ref (core.json's common properties come in
    that way; properties.json, the rules for custom properties, adds no name);
  - an `x_` property is refused, whatever the type (STIX 2.1 section 11.1: custom
    properties are the deprecated way; strict consumers refuse them);
  - every key of `extensions` is either a predefined extension (the `-ext` names of STIX
    2.1 section 6 and the OASIS TLP 2.0 marking extension, which is published with the
    marking definitions themselves) or the id of an extension-definition object in the
    same bundle or collection, whose extension_types contains the extension's
    extension_type (property-extension for ours);
  - the keys of each external_references entry are those the specification defines.

SCHEMAS. stix_validate runs ../shared/tools/stix-validate (the OASIS schemas) on a file.
The OASIS bundle schema has no branch for extension-definition objects (its branch for
custom objects needs exactly one of core / cyber-observable-core to match, and an
extension-definition matches both), and the tool maps no type to
common/extension-definition.json: so extension-definition objects are checked here
against that schema, and the tool checks everything else.
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
SCHEMAS = os.path.join(SHARED, "stix2-json-schemas", "schemas")
STIX_VALIDATE = os.path.join(SHARED, "tools", "stix-validate")
PY = "/usr/bin/python3"
BASE = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/"

# STIX 2.1 section 6: the predefined extensions of cyber-observable objects.
PREDEFINED_EXT = {
    "archive-ext", "ntfs-ext", "pdf-ext", "raster-image-ext", "windows-pebinary-ext",
    "http-request-ext", "icmp-ext", "socket-ext", "tcp-ext", "windows-process-ext",
    "windows-service-ext", "unix-account-ext",
}
# Published by OASIS with the TLP 2.0 marking definitions (cti-stix-common-objects).
KNOWN_DEFINITIONS = {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": ["property-extension"]}
EXTERNAL_REFERENCE_KEYS = {"source_name", "description", "url", "hashes", "external_id"}

_store, _by_type = {}, {}


def _load():
    if _store:
        return
    for folder in ("common", "sdos", "sros", "observables"):
        for name in sorted(os.listdir(os.path.join(SCHEMAS, folder))):
            with open(os.path.join(SCHEMAS, folder, name)) as f:
                schema = json.load(f)
            _store[schema["$id"]] = schema
            _store[BASE + folder + "/" + name] = schema
            if folder != "common" or name in ("marking-definition.json", "extension-definition.json",
                                              "language-content.json"):
                _by_type[name[:-5]] = schema


def _resolve(base, ref):
    url, _, pointer = ref.partition("#")
    target = urllib.parse.urljoin(base, url) if url else base
    doc = _store[target]
    for part in [p for p in pointer.split("/") if p]:
        doc = doc[part]
    return target, doc


def _names(schema, base, seen):
    """The property names a schema (and what it refers to) defines."""
    out = set()
    if not isinstance(schema, dict):
        return out
    if "$ref" in schema:
        target, sub = _resolve(base, schema["$ref"])
        key = (target, schema["$ref"])
        if key not in seen:
            seen.add(key)
            out |= _names(sub, target, seen)
    out |= set(schema.get("properties", {}))
    for k in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(k, []):
            out |= _names(sub, base, seen)
    for k in ("if", "then", "else"):
        out |= _names(schema.get(k), base, seen)
    return out


_allowed = {}


def allowed(t):
    """The top-level property names STIX 2.1 defines for type t (None: not a STIX type)."""
    _load()
    if t not in _allowed:
        schema = _by_type.get(t)
        _allowed[t] = None if schema is None else _names(schema, schema["$id"], set())
    return _allowed[t]


def objects_of(doc):
    if isinstance(doc, dict) and doc.get("type") == "bundle":
        return doc.get("objects", [])
    if isinstance(doc, dict) and "type" not in doc:
        return doc.get("objects", [])             # a TAXII envelope
    return [doc]


def check(objects, context=()):
    """Problems a strict consumer finds in objects (a list of dicts); the extension
    definitions may also be in context (the rest of a TAXII collection). [] when none."""
    defs = dict(KNOWN_DEFINITIONS)
    for o in list(objects) + list(context):
        if isinstance(o, dict) and o.get("type") == "extension-definition":
            defs[o.get("id")] = o.get("extension_types") or []
    bad = []
    for o in objects:
        if not isinstance(o, dict):
            bad.append("not an object: %r" % (o,))
            continue
        t, oid = o.get("type"), o.get("id", "?")
        names = allowed(t)
        if names is None:
            bad.append("%s: unknown type %r" % (oid, t))
            continue
        for k in o:
            if k.startswith("x_"):
                bad.append("%s: custom property %r (x_ properties are refused)" % (oid, k))
            elif k not in names:
                bad.append("%s: property %r is not defined for %s" % (oid, k, t))
        for ref in o.get("external_references", []) or []:
            for k in ref:
                if k not in EXTERNAL_REFERENCE_KEYS:
                    bad.append("%s: external reference property %r is not defined" % (oid, k))
        for key, ext in (o.get("extensions") or {}).items():
            if key in PREDEFINED_EXT:
                continue
            if not key.startswith("extension-definition--"):
                bad.append("%s: unknown extension %r" % (oid, key))
            elif key not in defs:
                bad.append("%s: extension %s has no extension-definition in the bundle" % (oid, key))
            elif not isinstance(ext, dict) or ext.get("extension_type") not in defs[key]:
                bad.append("%s: extension %s: extension_type %r is not one the definition declares %r"
                           % (oid, key, ext.get("extension_type") if isinstance(ext, dict) else ext, defs[key]))
    return bad


def assert_strict(doc_or_objects, context=()):
    objects = doc_or_objects if isinstance(doc_or_objects, list) else objects_of(doc_or_objects)
    bad = check(objects, context)
    assert not bad, "a strict STIX consumer refuses this:\n" + "\n".join(bad[:40])


# ---- the OASIS schemas ------------------------------------------------------------------

def _schema_errors(schema, obj):
    _load()
    resolver = jsonschema.RefResolver(BASE, _store[BASE + "common/bundle.json"], store=_store)
    cls = jsonschema.validators.validator_for(schema)
    return list(cls(schema, resolver=resolver).iter_errors(obj))


def stix_validate_text(text, tmpdir=None):
    """(returncode, output) of ../shared/tools/stix-validate on text (bytes or str), with the
    extension-definition objects checked against their own OASIS schema (see SCHEMAS)."""
    if not os.path.exists(STIX_VALIDATE):
        return 1, "%s is missing (CI lays ../shared beside the repository)" % STIX_VALIDATE
    _load()
    doc = json.loads(text)
    out, rc = [], 0
    objects = objects_of(doc)
    defs = [o for o in objects if isinstance(o, dict) and o.get("type") == "extension-definition"]
    for o in defs:
        for e in _schema_errors(_by_type["extension-definition"], o):
            out.append("%s: %s" % (o.get("id"), e.message[:300]))
            rc = 1
    if defs:
        rest = [o for o in objects if o not in defs]
        if isinstance(doc, dict) and "objects" in doc:
            doc = dict(doc, objects=rest)
            if doc.get("type") == "bundle" and not rest:
                doc.pop("objects")
        text = json.dumps(doc)
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=tmpdir and str(tmpdir), delete=False) as f:
        f.write(text if isinstance(text, str) else text.decode())
        path = f.name
    try:
        r = subprocess.run([PY, STIX_VALIDATE, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120)
    finally:
        os.unlink(path)
    out.append(r.stdout.decode(errors="replace"))
    return rc or r.returncode, "\n".join(out)


def stix_validate_file(path, tmpdir=None):
    with open(path, "rb") as f:
        return stix_validate_text(f.read(), tmpdir or os.path.dirname(os.path.abspath(path)))


def main(argv):
    status = 0
    for path in argv:
        with open(path) as f:
            doc = json.load(f)
        bad = check(objects_of(doc))
        for b in bad:
            print("%s: %s" % (path, b))
        print("%s: %d objects, %d refused" % (path, len(objects_of(doc)), len(bad)))
        status |= bool(bad)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
