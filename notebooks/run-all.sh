#!/usr/bin/env bash
# Runs every notebook in notebooks/ headless (dotnet-repl, pinned in .config/dotnet-tools.json) and prints
# "notebook ok: NAME" or "notebook FAILED: NAME" per notebook; exits non-zero when any fails.
# Executed copies go to $NOTEBOOK_OUT (default: a temp folder), never into the repo.
#   notebooks/run-all.sh              # all notebooks
#   notebooks/run-all.sh 02-train     # those whose name contains "02-train"
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

out="${NOTEBOOK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cvr-notebooks.XXXXXX")}"
mkdir -p "$out"
echo "executed notebooks and logs: $out"

# Prepare: the notebooks #r the library's Release build (../Cvr.MLNet/bin/Release/net10.0/Cvr.MLNet.dll).
if ! dotnet build Cvr.MLNet -c Release -v q -nologo > "$out/build.log" 2>&1; then
  tail -30 "$out/build.log"
  for nb in notebooks/*.ipynb; do echo "notebook FAILED: $(basename "$nb" .ipynb) (library build failed)"; done
  exit 1
fi
if ! dotnet tool restore > "$out/tool-restore.log" 2>&1; then
  cat "$out/tool-restore.log"
  for nb in notebooks/*.ipynb; do echo "notebook FAILED: $(basename "$nb" .ipynb) (dotnet tool restore failed)"; done
  exit 1
fi

failed=0
for nb in notebooks/*.ipynb; do
  name=$(basename "$nb" .ipynb)
  if [ $# -gt 0 ] && [[ "$name" != *"$1"* ]]; then continue; fi
  start=$SECONDS
  # Relative paths in the notebooks (#r ../Cvr.MLNet/..., ../data/sample) resolve from notebooks/, as in VS Code.
  (cd notebooks && timeout 900 dotnet dotnet-repl --run "$name.ipynb" --exit-after-run \
      --output-path "$out/$name.ipynb") > "$out/$name.log" 2>&1
  rc=$?
  # dotnet-repl exits non-zero when a cell fails; also check the executed copy for error outputs.
  # (plain grep: the executed copy is JSON written by dotnet-repl, one key per line)
  if [ -f "$out/$name.ipynb" ]; then
    errors=$(grep -c '"output_type": *"error"' "$out/$name.ipynb")
  else
    errors="no executed notebook"
  fi
  if [ "$rc" -eq 0 ] && [ "$errors" = "0" ]; then
    echo "notebook ok: $name ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    echo "notebook FAILED: $name (exit $rc, $((SECONDS - start)) s)"
    echo "  failed cells: $errors; executed copy: $out/$name.ipynb"
    grep -A3 '"ename"' "$out/$name.ipynb" 2>/dev/null | head -30
    tail -20 "$out/$name.log"
  fi
done
[ "$failed" -eq 0 ]
