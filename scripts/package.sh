#!/usr/bin/env bash
# Builds the Azure Functions deployment package of the broker: the app as a custom handler, with host.json and
# one folder per function at the package root (see shared reference §1.1, §1.9, §5.1).
#
#   scripts/package.sh
#       Self-contained linux-x64 publish into artifacts/package/, host.json and functions/definitions/*/ copied
#       to its root, zipped to artifacts/referral-broker.zip with the handler's execute bit kept.
#   scripts/package.sh --layout-only DIR [--from BUILD_DIR] [--zip ZIP]
#       The same layout, pruning and checks without the self-contained publish, for the tests: the app files
#       come from BUILD_DIR (an existing framework-dependent build of functions/ReferralBroker), or else from a
#       framework-dependent publish. Zipped only when --zip is given.
#   --output DIR / --zip ZIP  override where the full package and its zip go.
#
# Needs the .NET SDK and python3 (the zip is written by Python's zipfile, which keeps Unix modes; no `zip`).
# Prints the zip's path (or, without a zip, the package folder's) as its last line.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$root/functions/ReferralBroker"
definitions="$root/functions/definitions"

die() { echo "package.sh: $*" >&2; exit 1; }
absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

layout_only=false
from=""
out=""
zip=""
while (($#)); do
    case "$1" in
        --layout-only) layout_only=true; [[ $# -ge 2 ]] || die "--layout-only needs a folder"; out="$(absolute "$2")"; shift 2 ;;
        --from) [[ $# -ge 2 ]] || die "--from needs a folder"; from="$(absolute "$2")"; shift 2 ;;
        --output) [[ $# -ge 2 ]] || die "--output needs a folder"; out="$(absolute "$2")"; shift 2 ;;
        --zip) [[ $# -ge 2 ]] || die "--zip needs a file"; zip="$(absolute "$2")"; shift 2 ;;
        -h | --help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
if ! $layout_only; then
    [[ -z "$from" ]] || die "--from only goes with --layout-only"
    out="${out:-$root/artifacts/package}"
    zip="${zip:-$root/artifacts/referral-broker.zip}"
fi
if [[ -n "$from" && ! -f "$from/ReferralBroker.dll" ]]; then
    die "--from $from holds no ReferralBroker.dll: build functions/ReferralBroker first"
fi
command -v python3 >/dev/null || die "python3 is needed to read host.json and write the zip"

# The package folder is wiped: refuse anything that is not empty and not an earlier package.
case "$out/" in "$root/" | "$root/functions/"* | "$root/tests/"* | "$root/scripts/"* | "/" | "$HOME/") die "refusing to use $out as the package folder" ;; esac
if [[ -d "$out" && -n "$(ls -A "$out")" && ! -f "$out/host.json" ]]; then
    die "$out is not empty and holds no host.json: not an earlier package, not wiping it"
fi
rm -rf "$out"
mkdir -p "$(dirname "$out")"

# --- 1. The app ---------------------------------------------------------------------------------------------
# Builds go to their own artifacts path, so a package never races the obj/ and bin/ that `dotnet test` uses,
# and the linux-x64 restore never rewrites the project's obj/project.assets.json.
build_artifacts="$root/artifacts/build"
started=$SECONDS
if ! $layout_only; then
    # Self-contained: which .NET the Flex 'custom' image carries is unconfirmed (reference §5.1, §7).
    # ReadyToRun precompiles only our own assemblies (the framework already is), for a faster cold start.
    dotnet publish "$project" -c Release -r linux-x64 --self-contained true -p:PublishReadyToRun=true \
        --artifacts-path "$build_artifacts" -o "$out" -nologo -v quiet
elif [[ -n "$from" ]]; then
    mkdir -p "$out"
    cp -a "$from/." "$out/"
else
    dotnet publish "$project" -c Release --no-self-contained --artifacts-path "$build_artifacts" -o "$out" -nologo -v quiet
fi
echo "package.sh: app files in $out ($((SECONDS - started)) s)" >&2

# --- 2. What must never ship ----------------------------------------------------------------------------------
# Development settings, local Functions settings, embedded-mode data (SQLite, pepper, mail), test assemblies,
# and the development-time static web assets manifest (absolute paths of this machine; only a build has it).
forbidden=(
    -name appsettings.Development.json -o -name local.settings.json -o -name .data
    -o -name '*.Tests.dll' -o -name '*.Tests.pdb' -o -name '*.Tests.deps.json' -o -name '*.Tests.runtimeconfig.json'
    -o -name 'testhost*' -o -name 'xunit.*' -o -name '*.staticwebassets.runtime.json'
)
find "$out" \( "${forbidden[@]}" \) -prune -exec rm -rf {} +
if leaked="$(find "$out" \( "${forbidden[@]}" \) -print)" && [[ -n "$leaked" ]]; then
    die "files that must not ship are still in the package: $leaked"
fi

# --- 3. host.json and the function folders at the package root ---------------------------------------------
[[ ! -e "$out/host.json" ]] || die "the app's output already has a host.json; the one at the repo root is the only one"
cp "$root/host.json" "$out/host.json"
count=0
for folder in "$definitions"/*/; do
    name="$(basename "$folder")"
    [[ -f "$folder/function.json" ]] || die "functions/definitions/$name has no function.json"
    [[ ! -e "$out/$name" ]] || die "function '$name' collides with '$name' in the app's output"
    cp -R "${folder%/}" "$out/$name"
    count=$((count + 1))
done
((count > 0)) || die "no function folders in functions/definitions"

# --- 4. The handler the host starts must be there, and executable ---------------------------------------------
handler="$(python3 -c '
import json, sys
with open(sys.argv[1], encoding="utf-8-sig") as f:
    host = json.load(f)
description = host.get("customHandler", {}).get("description", {})
print(description.get("workingDirectory") or ".", description.get("defaultExecutablePath", ""), sep="\n")
' "$out/host.json")"
working_directory="$(sed -n 1p <<<"$handler")"
executable="$(sed -n 2p <<<"$handler")"
[[ -n "$executable" ]] || die "host.json has no customHandler.description.defaultExecutablePath"
[[ "$executable" != /* ]] || die "defaultExecutablePath must be relative to the package, not $executable"
handler_path="$out/$working_directory/$executable"
[[ -f "$handler_path" ]] || die "host.json starts '$executable' but the package has no $working_directory/$executable"
chmod 0755 "$handler_path"
[[ -x "$handler_path" ]] || die "$handler_path is not executable"

# --- 5. The zip, keeping Unix modes (the host cannot start a handler that lost its execute bit) -----------------
if [[ -n "$zip" ]]; then
    mkdir -p "$(dirname "$zip")"
    rm -f "$zip"
    python3 - "$out" "$zip" "$(realpath --relative-to="$out" "$handler_path")" <<'PY'
import os, stat, sys, zipfile

package, target, handler = sys.argv[1], sys.argv[2], sys.argv[3]
files = []
for directory, subdirectories, names in os.walk(package):
    subdirectories.sort()
    files += [os.path.join(directory, name) for name in sorted(names)]

with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
    for path in files:
        # write() records the file's mode in the upper 16 bits of external_attr, with create_system = 3 (Unix).
        # Modification times are kept: the static file middleware derives ETag and Last-Modified from them.
        archive.write(path, os.path.relpath(path, package))

with zipfile.ZipFile(target) as archive:
    entries = {info.filename: info for info in archive.infolist()}
    if len(entries) != len(files):
        sys.exit(f"zip has {len(entries)} entries for {len(files)} files")
    info = entries.get(handler)
    if info is None or info.create_system != 3 or not (info.external_attr >> 16) & stat.S_IXUSR:
        sys.exit(f"zip entry {handler} lost its execute bit")
PY
    echo "package.sh: $count functions, $(du -sh "$out" | cut -f1) unpacked, $(du -h "$zip" | cut -f1) zipped ($((SECONDS - started)) s)" >&2
    echo "$zip"
else
    echo "package.sh: $count functions, $(du -sh "$out" | cut -f1) ($((SECONDS - started)) s)" >&2
    echo "$out"
fi
