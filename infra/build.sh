#!/usr/bin/env bash
# `sam build` for real: every function cross-compiled for arm64 with
# cargo-lambda (the release profile), then checked to be an aarch64 `bootstrap`.
# CI runs it after tests/run.sh. It installs what it needs (into ./.venv-infra,
# and the aarch64 standard library with rustup) and prints each binary's size.
set -euo pipefail
cd "$(dirname "$0")/.."

source infra/tools.sh
install_infra_tools
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

started=$(date +%s)
# sam build runs `cargo lambda build --release --arm64 --bin X` once per
# function, one after another. Building them all in one cargo run first keeps
# both cores busy on the shared crates; sam build's own runs then find every
# binary fresh (the same command, the same features: those of the workspace's
# default members, see Cargo.toml).
binaries=$(sed -n 's/^ *Binary: *\([a-z0-9-]*\) *$/\1/p' infra/template.yaml)
printf '\n==> cargo lambda build --release --arm64 (%s functions, one cargo run)\n' "$(echo "$binaries" | wc -w)"
# shellcheck disable=SC2046
cargo lambda build --release --arm64 $(printf -- '--bin %s ' $binaries)
printf 'the one cargo run took %ss\n' "$(( $(date +%s) - started ))"

printf '\n==> sam build (cargo lambda build --release --arm64 per function)\n'
sam build
printf 'sam build took %ss\n' "$(( $(date +%s) - started ))"

printf '\n==> every function has an arm64 bootstrap\n'
python3 - <<'PY'
import pathlib, re, sys
template = pathlib.Path("infra/template.yaml").read_text()
functions = re.findall(r"^  (\w+Function):\n    Type: AWS::Serverless::Function", template, re.M)
failed = False
for name in functions:
    bootstrap = pathlib.Path(".aws-sam/build") / name / "bootstrap"
    if not bootstrap.is_file():
        print(f"{name}: no bootstrap at {bootstrap}"); failed = True; continue
    header = bootstrap.read_bytes()[:20]
    machine = int.from_bytes(header[18:20], "little")
    ok = header[:4] == b"\x7fELF" and machine == 0xB7  # EM_AARCH64
    print(f"{name}: {bootstrap.stat().st_size / 1e6:.1f} MB, {'aarch64 ELF' if ok else 'NOT an aarch64 ELF'}")
    failed |= not ok
if not functions:
    print("no functions found in the template"); failed = True
sys.exit(1 if failed else 0)
PY
