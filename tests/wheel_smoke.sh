#!/usr/bin/env bash
# The wheel as a user gets it (run by `make test` after pytest): build it (the sdist,
# then the wheel from the sdist, so nothing stale in the checkout gets in), install it
# into a fresh virtual environment, check that it brings one import package, `aidcal`,
# and run the main commands from an empty folder outside the repository on a
# throwaway SQLite database. Stops at the first failure.
#
#   bash tests/wheel_smoke.sh [PYTHON]    # PYTHON has `build` (the test extras); default .venv/bin/python
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${1:-$REPO/.venv/bin/python}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/aidcal-wheel-smoke.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# nothing from the caller's environment may stand in for what the wheel installs
unset PYTHONPATH PYTHONHOME AIDCAL_DB AIDCAL_NOTIFY AIDCAL_KEY_FILE VIRTUAL_ENV

step() { printf 'wheel smoke: %s\n' "$*" >&2; }
fail() { printf 'wheel smoke: FAILED: %s\n' "$*" >&2; exit 1; }

step "building the sdist and the wheel"
if ! "$PYTHON" -m build --outdir "$TMP/dist" "$REPO" >"$TMP/build.log" 2>&1; then
  cat "$TMP/build.log" >&2
  fail "python -m build"
fi
wheels=("$TMP"/dist/aidcal-*.whl)
[ "${#wheels[@]}" = 1 ] && [ -f "${wheels[0]}" ] || fail "expected one wheel in dist/, found: ${wheels[*]}"
WHEEL=${wheels[0]}

step "installing $(basename "$WHEEL") into a fresh virtual environment"
"$PYTHON" -m venv "$TMP/venv"
VENV=$TMP/venv
"$VENV/bin/python" -m pip install -q "$WHEEL"   # dependencies from the index; pip's cache is reused

RUN=$TMP/empty   # the working folder: empty, outside the repository
mkdir "$RUN"
cd "$RUN"
DB="sqlite:///$TMP/state.db"
aidcal() { "$VENV/bin/aidcal" --db "$DB" "$@"; }
py() { "$VENV/bin/python" "$@"; }

step "one import package: aidcal"
py - "$VENV" <<'EOF'
import importlib.metadata as md
import importlib.util
import sys
from pathlib import Path

venv = Path(sys.argv[1]).resolve()
for name in ("engine", "commands", "actions", "cli", "daemon", "tests", "bench"):
    assert importlib.util.find_spec(name) is None, f"a top-level {name!r} is importable: {importlib.util.find_spec(name).origin}"
import aidcal
import aidcal.cli
import aidcal.engine

assert venv in Path(aidcal.__file__).resolve().parents, f"aidcal imported from {aidcal.__file__}, not from {venv}"
dist = md.distribution("aidcal")
tops = {f.parts[0] for f in dist.files if f.parts[0] != ".."}
expected = {"aidcal", f"aidcal-{dist.version}.dist-info"}
assert tops == expected, f"the wheel installs {sorted(tops)}, expected {sorted(expected)}"
top_level = (dist.read_text("top_level.txt") or "aidcal").split()
assert top_level == ["aidcal"], f"top_level.txt: {top_level}"
for data in ("programmes.yaml", "calendar.yaml", "workflows/student_aid.yaml", "locale/zh_CN/LC_MESSAGES/aidcal.mo"):
    assert (Path(aidcal.__file__).parent / data).is_file(), f"package data missing: {data}"
EOF

step "aidcal speaks Chinese by default (the catalog is in the wheel)"
AIDCAL_LANG= LANG=en_US.UTF-8 "$VENV/bin/aidcal" tasks --help | grep -q "显示此帮助并退出" || fail "tasks --help is not Chinese"
"$VENV/bin/aidcal" --lang en tasks --help | grep -q "Show this message and exit." || fail "--lang en is not English"
export AIDCAL_LANG=en  # the steps below read English words

step "aidcal --version"
version=$(aidcal --version)
[[ $version == "aidcal "* ]] || fail "aidcal --version printed: $version"

step "aidcal calendar check"
aidcal calendar check "$REPO/calendar.yaml"
step "aidcal calendar load"
aidcal calendar load "$REPO/calendar.yaml" --as-of 2021-01-01
step "aidcal units import"
aidcal units import "$REPO/examples/units.csv" --as-of 2021-01-01

step "aidcal overdue --format json"
aidcal overdue --as-of 2021-07-15 --format json >"$TMP/overdue.json"
py -c '
import json, sys
rows = json.load(open(sys.argv[1], encoding="utf-8"))
assert isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows), "not a non-empty JSON array of objects"
print(f"{len(rows)} overdue rows")
' "$TMP/overdue.json"

step "aidcal programmes list"
aidcal programmes list
step "aidcal workflow show student_aid"
aidcal workflow show student_aid

step "aidcal key init"
export AIDCAL_KEY_FILE=$TMP/keys/bureau.json  # apart from the database, as a bureau keeps it
aidcal key init
[ "$(stat -c %a "$AIDCAL_KEY_FILE")" = 600 ] || fail "the key file is not mode 0600"

step "aidcal cases import"
# a senior high school of the example county, and two GB 11643 ID numbers (check digit included)
unit=$(awk -F, 'NR > 1 && $3 == "高中" { print $1; exit }' "$REPO/examples/units.csv")
[ -n "$unit" ] || fail "no senior high school (高中) in examples/units.csv"
py - "$TMP/cases.csv" "$unit" <<'EOF'
import sys

WEIGHTS, CHECK = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), "10X98765432"


def make_id(seq: int, birth: str = "20050301") -> str:
    body = f"340621{birth}{seq:03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


path, unit = sys.argv[1:]
rows = ["姓名,身份证号,联系电话,学校代码,年级,班级,困难等级,银行卡号,是否住宿"]
rows += [f"学生{k},{make_id(k)},139{k:08d},{unit},高二,1班,困难,62220212345{k:08d},是" for k in (1, 2)]
with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(rows) + "\n")
EOF
aidcal cases import "$TMP/cases.csv" --programme senior-grant --term 2021-autumn --as-of 2021-09-01
step "no ID number in the database file"
! grep -qa 34062120050301 "$TMP"/state.db* || fail "an ID number is in the database file in clear"

left=$(ls -A "$RUN")
[ -z "$left" ] || fail "the commands wrote into the working folder: $left"
echo "wheel smoke: ok"
