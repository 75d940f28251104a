#!/usr/bin/env bash
# Set up a native GPU function host (bare metal or privileged LXC with the GPU passed through):
# checks nvidia-smi, installs the GPU TensorFlow.js binding, installs ktrdr-host.service and waits
# until the gateway lists the host with capabilities.gpu == true. Run on the GPU machine as root.
set -euo pipefail
export SCRIPT_NAME=setup-gpu-host
# shellcheck source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
# shellcheck source=_native.sh
source "$(dirname "${BASH_SOURCE[0]}")/_native.sh"

usage() {
  cat <<USAGE
Usage: $0 --api-url URL --address ADDR [options]

  --api-url URL        the gateway, e.g. http://192.168.1.100:8000
  --address ADDR       this machine's routable address, e.g. 192.168.1.20
  --worker-id ID       (default: training-host-1)
  --type TYPE          WORKER_TYPE (default: training)
  --port N             (default: 5002, the guide's GPU host port)
  --slots N            concurrent invocations (default: 1)
  --source DIR         checkout to install into /opt/ktrdr (default: this checkout)
  --node-tarball FILE  official Node.js 20 tarball, when node >= 20 is missing
  --tfjs-version V     @tensorflow/tfjs-node-gpu version (default: 4.22.0, matching @tensorflow/tfjs)
  --no-tfjs-gpu        do not install the GPU binding (training then runs on wasm/cpu)
  --skip-gpu-check     do not require nvidia-smi (staging a host before its driver is installed)
  --set KEY=VALUE      extra host.env setting (repeatable)
  --wait-timeout S     (default: 180)
  --dry-run            print every command instead of running it
  -h, --help           this text

About @tensorflow/tfjs-node-gpu: it is a native addon built for CUDA 11.2 and cuDNN 8.1 (install
those libraries, not only the driver), and its install script DOWNLOADS libtensorflow (~400 MB,
from storage.googleapis.com) — the machine needs that access during the install, or a
pre-populated npm cache / node_modules copied from a machine that had it. Without it the package
installs (--ignore-scripts) but fails at load time; this script then stops with that message.
Secrets from the environment: KTRDR_CLUSTER_TOKEN (host.env), KTRDR_API_TOKEN (curl).
USAGE
}

worker_id=training-host-1 type=training port=5002 slots=1 tfjs_version=4.22.0 tfjs_gpu=1 gpu_check=1
while [[ $# -gt 0 ]]; do
  if native_option "$@"; then shift "$NATIVE_SHIFT"; continue; fi
  case "$1" in
    --type) need_value "$@"; type="$2"; shift 2 ;;
    --slots) need_value "$@"; slots="$2"; shift 2 ;;
    --tfjs-version) need_value "$@"; tfjs_version="$2"; shift 2 ;;
    --no-tfjs-gpu) tfjs_gpu=0; shift ;;
    --skip-gpu-check) gpu_check=0; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
native_check_options "$slots"

# 1. The GPU must be visible before anything is installed: the host advertises what nvidia-smi reports.
if [[ "$gpu_check" == 1 ]]; then
  if ! command -v nvidia-smi >/dev/null 2>&1 || ! gpus="$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1)"; then
    if [[ "$DRY_RUN" == 1 ]]; then warn "nvidia-smi does not work here (dry run goes on)"
    else die "nvidia-smi does not work: install the NVIDIA driver (and CUDA 11.2 + cuDNN 8.1 for tfjs-node-gpu) first, or pass --skip-gpu-check"
    fi
  else
    log "GPUs: $(printf '%s' "$gpus" | paste -sd ';' -)"
  fi
fi

# 2. Runtime, user, directories, code.
native_install

# 3. The GPU TensorFlow.js binding, next to the runtime's own @tensorflow/tfjs.
if [[ "$tfjs_gpu" == 1 ]]; then
  if probe sh -c "cd /opt/ktrdr && node -e \"require('@tensorflow/tfjs-node-gpu')\""; then
    log "@tensorflow/tfjs-node-gpu already loads"
  else
    log "installing @tensorflow/tfjs-node-gpu@$tfjs_version (downloads libtensorflow; needs CUDA 11.2 + cuDNN 8.1)"
    run sh -c "cd /opt/ktrdr && npm install --no-save --no-audit --no-fund @tensorflow/tfjs-node-gpu@$tfjs_version"
    if [[ "$DRY_RUN" != 1 ]] && ! (cd /opt/ktrdr && node -e "require('@tensorflow/tfjs-node-gpu')") >/dev/null 2>&1; then
      die "@tensorflow/tfjs-node-gpu installed but does not load (libtensorflow download failed, or CUDA 11.2/cuDNN 8.1 missing): see docs/operations.md#gpu-host-not-registering"
    fi
  fi
fi

# 4. Service. GPUs are detected by the host itself (nvidia-smi) and advertised at registration.
settings=("KTRDR_API_URL=$api_url" "WORKER_ID=$worker_id" "WORKER_TYPE=$type" "WORKER_PORT=$port"
  "WORKER_ENDPOINT_URL=http://$address:$port" "KTRDR_HOST_SLOTS=$slots" "KTRDR_CLUSTER_TOKEN=${KTRDR_CLUSTER_TOKEN:-}")
[[ "$tfjs_gpu" == 1 ]] || settings+=('!KTRDR_TF_BACKEND')
settings+=("${extra[@]}")
native_service "$KTRDR_DEPLOY_DIR/env/gpu-host.env.example" "${settings[@]}"

# 5. Registered, with the GPU advertised.
native_wait_capability gpu "with a GPU: journalctl -u ktrdr-host -n 50 (see docs/operations.md#gpu-host-not-registering)"
log "GPU host $worker_id ready"
