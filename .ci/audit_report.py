"""Reads pip-audit's JSON report: exit 0 clean, 1 a finding, 3 nothing could be audited (see .ci/audit-dependencies)."""

import json
import sys

with open(sys.argv[1]) as source:
    report = json.load(source)
deps = report["dependencies"]
audited = [d for d in deps if "skip_reason" not in d]
skipped = [d for d in deps if "skip_reason" in d]
findings = [(d["name"], d["version"], v) for d in audited for v in d["vulns"]]
for name, version, vuln in findings:
    fixed = ", ".join(vuln.get("fix_versions") or ()) or "no fixed version"
    print(f"audit: FINDING {name} {version}: {vuln['id']} ({fixed}) {(vuln.get('description') or '')[:200]}")
print(f"audit: {len(audited)} packages audited, {len(skipped)} not known to the service, "
      f"{len(findings)} findings")
if findings:
    sys.exit(1)
if not audited:
    print("audit: could not audit: the vulnerability service answered for none of the packages "
          f"(e.g. {skipped[0]['skip_reason'] if skipped else 'no packages'})", file=sys.stderr)
    sys.exit(3)
