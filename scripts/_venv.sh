# shellcheck shell=bash
# Shared by scripts/test.sh and scripts/demo.sh (sourced, not run): make sure .venv exists and
# holds this checkout installed in editable mode with the test extras.
#
# The install is skipped when pyproject.toml has not changed since the last one: a hash of it is
# kept in .venv/.complaints-pyproject.sha256.

# Pick a Python >= 3.11: python3.11 first, then python3 if it is new enough.
_complaints_find_python() {
    local candidate
    for candidate in "${COMPLAINTS_PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
                2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# ensure_venv ROOT: create ROOT/.venv if missing and (re)install the project when needed.
ensure_venv() {
    local root="$1"
    local venv="$root/.venv"
    local stamp="$venv/.complaints-pyproject.sha256"
    local python want have

    # A .venv copied from another machine has an interpreter link that leads nowhere: rebuild it.
    if ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        if ! python="$(_complaints_find_python)"; then
            echo "error: Python 3.11 or newer is needed (set COMPLAINTS_PYTHON to its path)" >&2
            return 1
        fi
        echo "Creating $venv with $python" >&2
        "$python" -m venv --clear "$venv"
        rm -f "$stamp"
    fi

    want="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"
    have="$(cat "$stamp" 2>/dev/null || true)"
    if [ "$want" != "$have" ] || ! (cd / && "$venv/bin/python" -c 'import worker') 2>/dev/null; then
        echo "Installing the project into $venv (pip install -e '.[test]')" >&2
        local pip_log
        pip_log="$(mktemp)"
        # Quiet unless it fails: setuptools' build warnings would drown the test output.
        if ! (cd "$root" && "$venv/bin/python" -m pip install --quiet -e '.[test]') \
            >"$pip_log" 2>&1; then
            cat "$pip_log" >&2
            rm -f "$pip_log"
            echo "error: pip install -e '.[test]' failed" >&2
            return 1
        fi
        rm -f "$pip_log"
        printf '%s\n' "$want" >"$stamp"
    fi
}
