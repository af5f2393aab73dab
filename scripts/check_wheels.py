"""Check that ``.whl/`` holds what scripts/gpu_check.sh installs on the GPU machine:
one version of each package, wheels for CPython 3.12 on x86-64 Linux, and every
requirement of spaCy and thinc met by a wheel there or by a package the GPU image has.

    python scripts/check_wheels.py [.whl]

Exits 1 and names what is missing. How the folder is made: docs/gpu.md.
"""

import re
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

# the GPU image's own packages that spaCy needs (/work/.library/device/KINDS.md, 2026-11-17)
ON_DEVICE = {
    "numpy", "typer", "click", "rich", "shellingham", "requests", "urllib3", "idna", "certifi",
    "charset-normalizer", "jinja2", "markupsafe", "packaging", "setuptools", "tqdm", "wrapt",
    "typing-extensions", "markdown-it-py", "mdurl", "pygments", "annotated-doc", "pytest",
    "pluggy", "iniconfig", "torch", "cupy-cuda13x", "wheel", "httpx", "httpcore", "h11", "anyio",
}  # fmt: skip
PY312 = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux",
         "platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython",
         "platform_python_implementation": "CPython", "os_name": "posix", "extra": ""}  # fmt: skip


def main(folder: Path) -> int:
    wheels = sorted(folder.glob("*.whl"))
    names, problems = {}, []
    for wheel in wheels:
        name, version, _, tags = parse_wheel_filename(wheel.name)
        if name in names:
            problems.append(f"two versions of {name}: {names[name]} and {version}")
        names[name] = version
        fits = (t.interpreter in ("py3", "cp312") and re.match(r"(any|manylinux.*x86_64)$", t.platform) for t in tags)
        if not any(fits):
            problems.append(f"{wheel.name} is not for CPython 3.12 on x86-64 Linux")
    for wanted in ("spacy", "thinc"):
        if wanted not in names:
            problems.append(f"no {wanted} wheel")
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
            lines = z.read(meta).decode("utf8").splitlines()
        for line in lines:
            if not line.startswith("Requires-Dist:"):
                continue
            req = Requirement(line.split(":", 1)[1].strip())
            if req.marker is not None and not req.marker.evaluate(PY312):
                continue
            name = canonicalize_name(req.name)
            if name in names:
                if not req.specifier.contains(str(names[name]), prereleases=True):
                    problems.append(f"{wheel.name} needs {req}, .whl has {names[name]}")
            elif name not in ON_DEVICE:
                problems.append(f"{wheel.name} needs {req}: neither in .whl nor on the GPU image")
    size = sum(w.stat().st_size for w in wheels) / 2**20
    for problem in problems:
        print("✘", problem)
    print(f"{len(wheels)} wheels, {size:.1f} MiB: " + ("incomplete" if problems else "complete"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".whl")))
