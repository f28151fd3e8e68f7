"""api/static/vendor/fetch.sh, run against a stand-in for `npm pack` that serves tarballs built
from the committed files: it accepts what SHA256SUMS names, refuses one changed byte, and puts
the files in place."""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parents[2] / "api" / "static" / "vendor"
# `npm pack --silent PACKAGE` in the current directory: write the package's tarball, print its
# name (as npm does), from $PACKS/PACKAGE.tgz.
FAKE_NPM = """#!/bin/sh
[ "$1" = pack ] || exit 2
name=$(echo "$3" | tr '@/' '__').tgz
cp "$PACKS/$3.tgz" "$name" && echo "$name"
"""


def entries() -> list[tuple[str, str, str]]:
    """(package@version, file in the package, directory here) as fetch.sh lists them."""
    text = (VENDOR / "fetch.sh").read_text()
    return re.findall(r'^\s+"(\S+) (\S+) (\S+)"$', text, re.MULTILINE)


@pytest.fixture
def npm(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A vendor folder holding only fetch.sh and SHA256SUMS, and the environment of a fake
    npm whose packages hold the committed files at their places in the package."""
    packs, trees = tmp_path / "packs", tmp_path / "trees"
    for package, file, directory in entries():
        target = trees / package / "package" / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(VENDOR / directory / Path(file).name, target)
    packs.mkdir()
    for tree in trees.iterdir():
        with tarfile.open(packs / f"{tree.name}.tgz", "w:gz") as tarball:
            tarball.add(tree / "package", "package")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(FAKE_NPM)
    (bin_dir / "npm").chmod(0o755)
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    for name in ("fetch.sh", "SHA256SUMS"):
        shutil.copy(VENDOR / name, vendor / name)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PACKS": str(packs)}
    return vendor, env


def run(vendor: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(vendor / "fetch.sh"), *args], env=env, check=False,
                          capture_output=True, text=True, timeout=60)


def test_fetch_checks_and_puts_every_file_in_place(npm):
    vendor, env = npm
    assert len(entries()) >= 6
    checked = run(vendor, env, "--check")
    assert checked.returncode == 0, checked.stderr
    assert "checksums match" in checked.stdout
    assert sorted(p.name for p in vendor.iterdir()) == ["SHA256SUMS", "fetch.sh"]

    fetched = run(vendor, env)
    assert fetched.returncode == 0, fetched.stderr
    for _, file, directory in entries():
        name = f"{directory}/{Path(file).name}"
        assert (vendor / name).read_bytes() == (VENDOR / name).read_bytes()


def test_fetch_refuses_a_file_that_differs_from_its_checksum(npm):
    vendor, env = npm
    sums = (vendor / "SHA256SUMS").read_text()
    digest = re.search(r"^(\w+)  cytoscape/cytoscape.min.js$", sums, re.MULTILINE).group(1)
    (vendor / "SHA256SUMS").write_text(sums.replace(digest, "0" * 64))
    failed = run(vendor, env)
    assert failed.returncode != 0
    assert "cytoscape/cytoscape.min.js: FAILED" in failed.stdout + failed.stderr
    assert not (vendor / "cytoscape").exists()  # nothing put in place
