"""Money and times as the console shows them; its catalogues compiled; the wheel carries its pages and assets."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages import mofile, pofile

from console.display import CATALOGUES, local_time, yuan

ROOT = Path(__file__).resolve().parents[2]


def test_fen_show_as_yuan_with_two_decimals():
    assert [yuan(f) for f in (0, 5, 1250, 123456789, -150)] == ["¥0.00", "¥0.05", "¥12.50", "¥1,234,567.89", "-¥1.50"]


def test_times_show_in_the_stores_zone():
    at = datetime(2026, 1, 1, 16, 30, tzinfo=UTC)
    assert local_time(at) == "2026-01-02 00:30"  # the business zone, Asia/Shanghai
    assert local_time(at, "Europe/London") == "2026-01-01 16:30"


@pytest.mark.parametrize("po", sorted(CATALOGUES.glob("*/LC_MESSAGES/messages.po")), ids=lambda p: p.parts[-3])
def test_each_catalogue_is_complete_and_its_committed_mo_matches_it(po):
    with po.open("rb") as source:
        catalog = pofile.read_po(source)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert not untranslated, f"translate these in {po.name}: {untranslated}"
    compiled = io.BytesIO()
    mofile.write_mo(compiled, catalog)
    committed = po.with_suffix(".mo").read_bytes()
    assert compiled.getvalue() == committed, "run `pybabel compile -d console/translations` and commit the .mo"


def test_the_wheel_carries_the_consoles_templates_static_files_and_catalogues(tmp_path):
    source = tmp_path / "source"  # a copy, so the build leaves nothing (build/, *.egg-info) in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "app.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("shop", "coupons", "referral", "crm", "console"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("ripple-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for expected in ("console/templates/layout.html", "console/templates/counter/_result.html",
                     "console/static/console.css", "console/static/htmx-2.0.8/htmx.min.js",
                     "console/static/htmx-2.0.8/LICENSE", "console/static/echarts-6.1.0/echarts.min.js",
                     "console/static/echarts-6.1.0/LICENSE", "console/static/echarts-6.1.0/NOTICE",
                     "console/templates/batches/detail.html", "console/templates/batches/_progress.html",
                     "console/static/jsqr-1.4.0/jsQR.js", "console/static/jsqr-1.4.0/LICENSE",
                     "console/static/counter/camera.js",
                     "console/translations/zh_Hans_CN/LC_MESSAGES/messages.mo"):
        assert expected in names, expected
