# Sourced by every recipe through its path.sh link (egs/<corpus>/<task>/path.sh).
# Put the recipe utilities and the repository's virtual environment (if present) on PATH.
_vc_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
[ -x "$_vc_root/.venv/bin/vc" ] && export PATH="$_vc_root/.venv/bin:$PATH"
export PATH="$PWD/utils:$PATH"
export PYTHONUNBUFFERED=1
# One thread per job: run.pl runs --nj jobs side by side, and torch's thread pools
# oversubscribing 2 cores made Griffin-Lim 20x slower here. Raise it for a single job.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
unset _vc_root
