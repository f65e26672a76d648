"""numba's kernel cache for a user who can write neither the install nor a home: a private temp folder.

(Checked for real by hand as `runuser -u nobody` on a root-owned install: without this, importing tapescan
failed with numba's "cannot cache function ...: no locator available".)"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tapescan import kernel_cache


@pytest.fixture
def temp_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(kernel_cache.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    return tmp_path


def _unwritable(*folders: Path):
    return lambda folder: not any(folder == f or f in folder.parents for f in folders)


def test_numba_keeps_its_own_places_when_it_can_write_them(temp_dir):
    assert kernel_cache.cache_folder_needed() is None


def test_a_user_who_can_write_neither_gets_a_private_folder(temp_dir, monkeypatch):
    monkeypatch.setattr(kernel_cache, "writable", _unwritable(kernel_cache.PACKAGE, kernel_cache.user_cache_folder()))
    folder = kernel_cache.cache_folder_needed()
    assert folder == temp_dir / f"tapescan-numba-cache-{os.getuid()}"
    info = folder.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
    assert kernel_cache.cache_folder_needed() == folder  # reused by the next process


def test_a_home_cache_is_enough(temp_dir, monkeypatch):
    monkeypatch.setattr(kernel_cache, "writable", _unwritable(kernel_cache.PACKAGE))
    assert kernel_cache.cache_folder_needed() is None


def test_a_temp_folder_others_can_write_is_never_reused(temp_dir):
    shared = temp_dir / f"tapescan-numba-cache-{os.getuid()}"
    shared.mkdir()
    shared.chmod(0o777)  # anyone could plant compiled code here
    fresh = kernel_cache.private_temp_folder()
    assert fresh != shared and fresh.parent == temp_dir and stat.S_IMODE(fresh.stat().st_mode) == 0o700


def test_numba_cache_dir_set_by_the_user_decides(temp_dir, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(temp_dir / "mine"))
    monkeypatch.setattr(kernel_cache, "writable", lambda folder: False)
    assert kernel_cache.cache_folder_needed() is None


def test_tapescan_points_numba_there_before_any_kernel_is_defined(tmp_path):
    """In a fresh process where neither place is writable, importing tapescan sets numba's cache folder."""
    code = (  # load kernel_cache alone first (not through the package), so that the patch precedes the package
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('tapescan.kernel_cache', {str(kernel_cache.__file__)!r})\n"
        "k = sys.modules['tapescan.kernel_cache'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(k)\n"
        "k.writable = lambda folder: folder.is_relative_to(k.tempfile.gettempdir())\n"
        "import tapescan, os\n"
        "from numba.core import config\n"
        "print(config.CACHE_DIR == os.environ['NUMBA_CACHE_DIR'] != '')\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**env, "TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    assert (tmp_path / f"tapescan-numba-cache-{os.getuid()}").is_dir()
