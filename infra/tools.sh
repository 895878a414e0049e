# Sourced by tests/run.sh and infra/build.sh: the deployment tools, pinned, in
# their own virtualenv (SAM CLI's dependencies and moto's do not mix).
INFRA_VENV=.venv-infra
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}

install_infra_tools() {
  if ! "$INFRA_VENV/bin/python" -c "import samcli, cfnlint" 2>/dev/null \
    || [ ! -x "$INFRA_VENV/bin/cargo-lambda" ] || [ ! -x "$INFRA_VENV/bin/python-zig" ]; then
    printf '\n==> installing SAM CLI, cfn-lint, cargo-lambda and Zig into %s (a few minutes, once)\n' "$INFRA_VENV"
    python3 -m venv "$INFRA_VENV"
    "$INFRA_VENV/bin/pip" install --quiet --disable-pip-version-check \
      "aws-sam-cli==1.170.0" "cfn-lint==1.58.0" "cargo-lambda==1.9.2" "ziglang==0.15.1"
  fi
  export PATH="$PWD/$INFRA_VENV/bin:$PATH"
}
