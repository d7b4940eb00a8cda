"""Checks of the Lambda deployment package built by scripts/package.sh (make package).

dist/bootstrap.zip (x86_64) is checked when it exists; it is required when PACKAGE_TESTS=required (as
`make test` sets after building it). dist/bootstrap-arm64.zip is checked (statically) when it exists.
"""

import os
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from harness.provider import Provider
from harness.runtime_api import RuntimeApi
from harness.wait import wait_until

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
# Amazon Linux 2023, the provided.al2023 runtime, has glibc 2.34.
MAX_GLIBC = (2, 34)
MAX_ZIP_BYTES = 10 * 1024 * 1024
# (zip name, ELF machine as readelf -h prints it)
PACKAGES = {
    "x86_64": ("bootstrap.zip", "Advanced Micro Devices X86-64"),
    "arm64": ("bootstrap-arm64.zip", "AArch64"),
}


def package_zip(arch):
    name, _ = PACKAGES[arch]
    path = DIST / name
    if path.exists():
        return path
    if arch != "x86_64":
        pytest.skip(f"dist/{name} not built (package.sh builds it only when the Rust target is installed)")
    if os.environ.get("PACKAGE_TESTS") == "required":
        pytest.fail(f"dist/{name} is missing but PACKAGE_TESTS=required: run `make package` first")
    pytest.skip(f"dist/{name} not built: run `make package` (or `make test`, which builds it)")


def extract_bootstrap(zip_path, directory):
    """Extracts `bootstrap` with the mode stored in the zip (zipfile itself drops it)."""
    with zipfile.ZipFile(zip_path) as archive:
        info = archive.getinfo("bootstrap")
        target = Path(archive.extract(info, directory))
    target.chmod((info.external_attr >> 16) & 0o7777)
    return target


@pytest.fixture(params=list(PACKAGES), scope="module")
def arch(request):
    return request.param


@pytest.fixture(scope="module")
def binary(arch, tmp_path_factory):
    return extract_bootstrap(package_zip(arch), tmp_path_factory.mktemp(f"package-{arch}"))


def elf_dump(binary_path, *args):
    return subprocess.run(["readelf", "-W", *args, str(binary_path)], capture_output=True, text=True, check=True).stdout


def glibc_versions(binary_path):
    """Every GLIBC_x.y[.z] symbol version the binary needs, as tuples of ints."""
    if shutil.which("readelf"):
        # Dynamic symbols (memcpy@GLIBC_2.14) and the version-needs section (Name: GLIBC_2.34).
        text = elf_dump(binary_path, "--dyn-syms", "--version-info")
    elif shutil.which("objdump"):
        text = subprocess.run(["objdump", "-T", str(binary_path)], capture_output=True, text=True, check=True).stdout
    else:
        pytest.fail("neither readelf nor objdump (binutils) is installed")
    return {tuple(int(part) for part in v.split(".")) for v in re.findall(r"GLIBC_(\d+(?:\.\d+)+)", text)}


def test_zip_layout(arch):
    zip_path = package_zip(arch)
    size = zip_path.stat().st_size
    assert size < MAX_ZIP_BYTES, f"{zip_path.name} is {size} bytes, limit {MAX_ZIP_BYTES}"
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        assert "bootstrap" in names, f"no bootstrap at the root of {zip_path.name}: {names}"
        mode = archive.getinfo("bootstrap").external_attr >> 16
    assert stat.S_ISREG(mode), f"bootstrap is not stored as a regular file (mode {oct(mode)})"
    assert mode & 0o111 == 0o111, f"bootstrap is not executable by all (mode {oct(mode)})"


def test_binary_is_elf_for_the_architecture(arch, binary):
    header = elf_dump(binary, "-h")
    assert PACKAGES[arch][1] in header, header


def test_glibc_not_newer_than_amazon_linux_2023(binary):
    versions = glibc_versions(binary)
    assert versions, "no GLIBC symbol versions found: not a dynamically linked glibc binary?"
    newest = max(versions)
    too_new = sorted(".".join(map(str, v)) for v in versions if v > MAX_GLIBC)
    assert not too_new, f"needs GLIBC {too_new}; provided.al2023 has {'.'.join(map(str, MAX_GLIBC))}"
    print(f"newest GLIBC version needed: {'.'.join(map(str, newest))}")


def test_binary_polls_the_runtime_api(tmp_path_factory):
    """Started as Lambda starts it (the harness's sealed environment: nothing of this machine's), the packaged
    binary asks the Runtime API for its first event and waits for it."""
    scratch = tmp_path_factory.mktemp("start")
    binary_path = extract_bootstrap(package_zip("x86_64"), scratch)
    with RuntimeApi() as api, Provider(binary_path, api, "http://127.0.0.1:1", log_path=scratch / "log") as provider:
        wait_until(
            lambda: api.waiting_pollers,
            10,
            message=lambda: f"a `next` request (exit code {provider.returncode}):\n{provider.tail()}",
        )
        assert (api.next_requests, api.init_errors) == (1, []), provider.tail()
        assert provider.alive(), f"bootstrap exited after polling:\n{provider.tail()}"
