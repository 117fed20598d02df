# Put the recipe utilities and the repository's virtual environment (if present) on PATH.
_vc_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
[ -x "$_vc_root/.venv/bin/vc" ] && export PATH="$_vc_root/.venv/bin:$PATH"
export PATH="$PWD/utils:$PATH"
export PYTHONUNBUFFERED=1
unset _vc_root
