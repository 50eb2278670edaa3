"""Which pins of a requirements file break a Requires-Dist constraint of the packages they install beside.

    python pin_constraints.py < request.json

Run with the harness's CPU environment, whose installed distributions are the tested stack. The request:
  {"pins": {"name": "version", ...}, "wheels": ["/path/x.whl", ...]}
Sources of constraints: the METADATA of each wheel, and every distribution installed in this environment
except those a wheel stands for and those installed at another version than the file pins (their metadata
describes another release, e.g. the CPU torch beside a CUDA pin). Requirements whose marker is false here
without extras (optional extras, other platforms) do not apply.

stdout, one JSON object:
  {"sources": [{"name", "version", "from"}], "skipped": [{"name", "installed", "pinned"}],
   "constraints": [{"source", "version", "name", "requirement", "specifier", "pinned", "ok"}]}
"""
import json
import sys
import zipfile
from email.parser import HeaderParser
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version


def wheel_metadata(path):
    with zipfile.ZipFile(path) as wheel:
        member = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        headers = HeaderParser().parsestr(wheel.read(member).decode("utf-8"))
    return headers["Name"], headers["Version"], headers.get_all("Requires-Dist") or []


def same_release(installed, pinned):
    """2.13.0+cpu is the release a `==2.13.0` pin names; 2.14.0+cu126 is another one."""
    a, b = Version(installed), Version(pinned)
    return a == b or (b.local is None and a.public == b.public)


def main():
    request = json.load(sys.stdin)
    pins = {canonicalize_name(name): version for name, version in request["pins"].items()}
    sources, skipped = [], []
    from_wheels = set()
    for path in request["wheels"]:
        name, version, requires = wheel_metadata(path)
        from_wheels.add(canonicalize_name(name))
        sources.append((canonicalize_name(name), version, requires, path))
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name in from_wheels:
            continue
        if name in pins and not same_release(dist.version, pins[name]):
            skipped.append({"name": name, "installed": dist.version, "pinned": pins[name]})
            continue
        sources.append((name, dist.version, dist.requires or [], "installed"))

    constraints = []
    for source, version, requires, _origin in sources:
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            name = canonicalize_name(requirement.name)
            if name not in pins:
                continue
            constraints.append({
                "source": source,
                "version": version,
                "name": name,
                "requirement": text,
                "specifier": str(requirement.specifier),
                "pinned": pins[name],
                "ok": requirement.specifier.contains(Version(pins[name]), prereleases=True),
            })
    json.dump({
        "sources": [{"name": n, "version": v, "from": o} for n, v, _r, o in sources],
        "skipped": skipped,
        "constraints": constraints,
    }, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
