"""CI's dependency audit tells a finding from an audit that could not run (.ci/audit-dependencies)."""

import json
import subprocess
import sys

from app import ROOT

READER = ROOT / ".ci" / "audit_report.py"
AUDIT = ROOT / ".ci" / "audit-dependencies"


def _read(tmp_path, dependencies: list[dict]) -> subprocess.CompletedProcess:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"dependencies": dependencies, "fixes": []}))
    return subprocess.run([sys.executable, str(READER), str(report)], capture_output=True, text=True, check=False)


def test_a_vulnerable_pin_fails_the_audit_and_is_named(tmp_path):
    result = _read(tmp_path, [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {"name": "requests", "version": "2.0.0", "vulns": [{"id": "PYSEC-0000-1", "fix_versions": ["2.31.0"],
                                                          "description": "leaks credentials"}]}])
    assert result.returncode == 1
    assert "FINDING requests 2.0.0: PYSEC-0000-1 (2.31.0)" in result.stdout


def test_clean_pins_pass(tmp_path):
    result = _read(tmp_path, [{"name": "flask", "version": "3.1.3", "vulns": []},
                              {"name": "ripple-local", "skip_reason": "Dependency not found on PyPI"}])
    assert result.returncode == 0, result.stderr
    assert "1 packages audited, 1 not known to the service, 0 findings" in result.stdout


def test_a_service_that_knew_no_package_is_not_taken_for_a_clean_audit(tmp_path):
    # pip-audit itself says "No known vulnerabilities found" and exits 0 when it skipped everything.
    result = _read(tmp_path, [{"name": "flask", "skip_reason": "Dependency not found on PyPI and could not be audited"}])
    assert result.returncode == 3
    assert "could not audit" in result.stderr


def test_an_ignored_vulnerability_needs_a_reason():
    listed = [line.split(maxsplit=1) for line in (ROOT / ".ci" / "pip-audit-ignore").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert all(len(entry) == 2 for entry in listed), listed
    assert "without a reason" in AUDIT.read_text()
