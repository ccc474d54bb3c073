#!/usr/bin/env bash
# Create one virtualenv per peer simulator under .peers/<name>/ and install it.
#
#   bash benchmarks/speed/setup_peers.sh [torchquantum] [pennylane] [tensorcircuit]   (default: all)
#
# Idempotent: a venv whose stamp file exists and whose import check passes is left
# alone (FORCE=1 reinstalls).  A peer that cannot be installed is reported and the
# script goes on with the others; the exit code is 0 unless every requested peer failed.
#
# torch: every venv that needs torch gets "$TORCH" (default torch==2.13.0, the local CPU
# wheel) FIRST, and every later pip call runs with a constraints file pinning it, so
# nothing can pull another torch (and its CUDA packages).
#
# Environment: PYTHON (default python3), TORCH (default torch==2.13.0),
#              QTRAIN_PEERS_DIR (default <repo>/.peers), FORCE=1,
#              TQ_SPEC, PL_SPEC, TC_SPEC (override the pinned peer versions).
set -u

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PEERS_DIR="${QTRAIN_PEERS_DIR:-$REPO/.peers}"
PYTHON="${PYTHON:-python3}"
TORCH="${TORCH:-torch==2.13.0}"
TQ_SPEC="${TQ_SPEC:-torchquantum==0.1.8}"
PL_SPEC="${PL_SPEC:-pennylane==0.45.1 pennylane-lightning==0.45.0}"
TC_SPEC="${TC_SPEC:-tensorcircuit-ng==1.10.0 jax[cpu]==0.10.2}"
FORCE="${FORCE:-0}"
STAMP_NAME=".qtrain-peer-ok"

mkdir -p "$PEERS_DIR"
log() { echo "[setup_peers] $*"; }

# pip, quiet, without the noise of the (absent) local extra indexes
vpip() {
    local venv="$1"; shift
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1 \
        | grep -v -e "is ignored: it is neither a file nor a directory" \
                  -e "dependency resolver does not currently take into account" \
                  -e "which is not installed" -e "which is incompatible"
    local rc="${PIPESTATUS[0]}"
    return "$rc"
}

make_venv() {  # make_venv DIR
    local venv="$1"
    if [ ! -x "$venv/bin/python" ]; then
        "$PYTHON" -m venv "$venv" || return 1
    fi
}

install_torch() {  # install_torch DIR CONSTRAINTS_FILE
    local venv="$1" cons="$2"
    echo "$TORCH" > "$cons"
    vpip "$venv" "$TORCH" || return 1
}

check_torch() {  # refuse a venv whose torch was replaced
    local venv="$1" want="${TORCH#torch==}"
    local have
    have="$("$venv/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null)"
    if [ "$have" != "$want" ]; then
        echo "torch is '$have', expected '$want'"; return 1
    fi
}

is_ready() {  # is_ready DIR IMPORT_STMT
    [ "$FORCE" != "1" ] && [ -f "$1/$STAMP_NAME" ] && \
        (cd /tmp && "$1/bin/python" -c "$2" >/dev/null 2>&1)
}

# A torchvision stand-in: there is no CPU torchvision wheel for this torch build and
# TorchQuantum imports torchvision.datasets/transforms at import time (only for its
# MNIST/CIFAR dataset helpers, which the benchmark does not use).
write_torchvision_stub() {
    local venv="$1"
    "$venv/bin/python" - <<'PY'
import pathlib, sysconfig
root = pathlib.Path(sysconfig.get_paths()["purelib"]) / "torchvision"
files = {
    "_stub.py": '''"""torchvision stand-in written by benchmarks/speed/setup_peers.sh (no CPU wheel exists).
Names resolve at import time; instantiating anything raises ImportError."""


class _StubMeta(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _make(cls.__name__ + "." + name)


class _Stub(metaclass=_StubMeta):
    def __init__(self, *a, **k):
        raise ImportError("torchvision is a stub here; %s is unavailable" % type(self).__name__)


def _make(name):
    return _StubMeta(name, (_Stub,), {})


def module_getattr(modname):
    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _make(modname + "." + name)
    return __getattr__
''',
    "__init__.py": 'from torchvision._stub import module_getattr\n__version__ = "0.0.0+stub"\n'
                   '__getattr__ = module_getattr("torchvision")\nfrom . import datasets, transforms  # noqa: E402\n',
    "datasets/__init__.py": 'from torchvision._stub import module_getattr\n'
                            '__getattr__ = module_getattr("torchvision.datasets")\n',
    "datasets/utils.py": 'from torchvision._stub import module_getattr\n'
                         '__getattr__ = module_getattr("torchvision.datasets.utils")\n',
    "transforms/__init__.py": 'from torchvision._stub import module_getattr\n'
                              '__getattr__ = module_getattr("torchvision.transforms")\n',
}
for rel, text in files.items():
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
print("torchvision stub written to", root)
PY
}

# ------------------------------------------------------------------ torchquantum
setup_torchquantum() {
    local venv="$PEERS_DIR/torchquantum" cons="$PEERS_DIR/torchquantum/constraints.txt"
    local check="import torch, torchquantum"
    if is_ready "$venv" "$check"; then echo "already installed"; return 0; fi
    make_venv "$venv" || { echo "cannot create venv"; return 1; }
    install_torch "$venv" "$cons" || { echo "torch install failed"; return 1; }
    # TorchQuantum 0.1.8 declares tensorflow, pyscf, torchvision, qiskit<1, ... as hard
    # requirements; only part of that is needed to import and simulate.  Install the
    # package itself without dependencies, then the modules its import chain needs,
    # with qiskit<1.0 (qiskit.providers.aer is provided by qiskit-aer<0.13, and
    # qiskit-ibm-runtime<0.21 needs pkg_resources, i.e. setuptools>=77.0.3,<81).
    cat >> "$cons" <<'EOF'
qiskit==0.46.3
qiskit-aer==0.12.2
qiskit-ibm-runtime==0.20.0
numpy<2
setuptools>=77.0.3,<81
EOF
    vpip "$venv" --no-deps "$TQ_SPEC" "torchpack==0.3.1" || { echo "pip install $TQ_SPEC failed"; return 1; }
    vpip "$venv" -c "$cons" "numpy<2" scipy matplotlib opt-einsum pylatexenc dill pathos tqdm \
        torchdiffeq multimethod loguru pyyaml toml "setuptools>=77.0.3,<81" \
        "qiskit==0.46.3" "qiskit-aer==0.12.2" "qiskit-ibm-runtime==0.20.0" \
        || { echo "pip install of TorchQuantum's runtime dependencies failed"; return 1; }
    if ! (cd /tmp && "$venv/bin/python" -c "import torchvision" >/dev/null 2>&1); then
        write_torchvision_stub "$venv" || { echo "writing the torchvision stub failed"; return 1; }
    fi
    check_torch "$venv" || return 1
    local err
    err="$(cd /tmp && "$venv/bin/python" -c "$check" 2>&1)" || { echo "import failed: $(echo "$err" | tail -1)"; return 1; }
    touch "$venv/$STAMP_NAME"
}

# --------------------------------------------------------------------- pennylane
setup_pennylane() {
    local venv="$PEERS_DIR/pennylane" cons="$PEERS_DIR/pennylane/constraints.txt"
    local check="import torch, pennylane as qml; qml.device('lightning.qubit', wires=1); qml.device('default.qubit', wires=1)"
    if is_ready "$venv" "$check"; then echo "already installed"; return 0; fi
    make_venv "$venv" || { echo "cannot create venv"; return 1; }
    install_torch "$venv" "$cons" || { echo "torch install failed"; return 1; }
    # shellcheck disable=SC2086
    vpip "$venv" -c "$cons" $PL_SPEC || { echo "pip install $PL_SPEC failed"; return 1; }
    check_torch "$venv" || return 1
    local err
    err="$(cd /tmp && "$venv/bin/python" -c "$check" 2>&1)" || { echo "import failed: $(echo "$err" | tail -1)"; return 1; }
    touch "$venv/$STAMP_NAME"
}

# ----------------------------------------------------------------- tensorcircuit
setup_tensorcircuit() {
    local venv="$PEERS_DIR/tensorcircuit" cons="$PEERS_DIR/tensorcircuit/constraints.txt"
    local check="import jax, tensorcircuit as tc; tc.set_backend('jax')"
    if is_ready "$venv" "$check"; then echo "already installed"; return 0; fi
    make_venv "$venv" || { echo "cannot create venv"; return 1; }
    # no torch here; pin it anyway so that nothing can pull one in
    echo "$TORCH" > "$cons"
    # shellcheck disable=SC2086
    vpip "$venv" -c "$cons" $TC_SPEC || { echo "pip install $TC_SPEC failed"; return 1; }
    local err
    err="$(cd /tmp && JAX_PLATFORMS=cpu "$venv/bin/python" -c "$check" 2>&1)" || { echo "import failed: $(echo "$err" | tail -1)"; return 1; }
    touch "$venv/$STAMP_NAME"
}

# ------------------------------------------------------------------------- main
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(torchquantum pennylane tensorcircuit)
n_ok=0; n_fail=0
for t in "${targets[@]}"; do
    case "$t" in
        torchquantum|pennylane|tensorcircuit) ;;
        *) log "unknown peer '$t' (torchquantum, pennylane, tensorcircuit)"; n_fail=$((n_fail+1)); continue ;;
    esac
    log "$t: setting up in $PEERS_DIR/$t"
    setup_"$t" 2>&1 | sed -u "s/^/[setup_peers]   $t: /"
    rc="${PIPESTATUS[0]}"
    if [ $rc -eq 0 ]; then
        n_ok=$((n_ok+1))
        vers="$("$PEERS_DIR/$t/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
            | grep -i -E '^(torch|torchquantum|qiskit|pennylane|pennylane.lightning|tensorcircuit-ng|jax|jaxlib|numpy) ' \
            | awk '{printf "%s=%s ", $1, $2}')"
        log "$t: OK  ($vers)"
    else
        n_fail=$((n_fail+1))
        log "$t: FAILED (see the lines above); continuing with the others"
    fi
done
log "done: $n_ok ok, $n_fail failed"
[ $n_ok -gt 0 ] || [ ${#targets[@]} -eq 0 ]
