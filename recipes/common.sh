# What the staged pipelines recipes/vc.sh and recipes/voc.sh share (sourced before their own
# options and utils/parse_options.sh): the common options with their defaults, and the
# functions that read them.

stage=0
nj=2              # parallel jobs (extraction, conversion, scoring)
ngpu=0            # GPUs per node for training; 0: CPU
num_nodes=1       # > 1: multi-node DDP through utils/slurm.pl
cpu_procs=1       # DDP processes on CPU (gloo) when --ngpu 0
db_root=""        # where the corpus is (or is downloaded to); empty for a synthesized corpus
local_data_opts=""  # more options for local/data.sh
heldout_spks=""   # speakers kept out of training (passed to local/data.sh when set)
feats_conf=conf/feats.yaml
gl_iters=32       # Griffin-Lim iterations
conf=""           # the training config, when one system (or vocoder) is trained
train_opts=""     # more options for vc train
tag=""            # appended to experiment names: exp/<name>_<tag>
# train_cmd and cuda_cmd come from cmd.sh and are options too (--train_cmd "utils/slurm.pl --mem 4G").
common_help="--stage 0 --nj 2 --ngpu 0 --num_nodes 1 --cpu_procs 1 --db_root DIR --local_data_opts \"...\"
  --heldout_spks \"spk ...\" --feats_conf conf/feats.yaml --gl_iters 32 --conf FILE --train_opts \"...\" --tag TAG
  --train_cmd \"utils/run.pl\" --cuda_cmd \"utils/run.pl --gpu 1\" (defaults from cmd.sh)"

log() { echo "$(date '+%H:%M:%S') $*"; }

# The cores this job may use. path.sh exports OMP_NUM_THREADS=1 for the parallel jobs, and
# nproc honours it, so plain nproc would say 1 here.
cores() { env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc; }

die() {
  echo "$0: $*" >&2
  exit 1
}

# Stages 0 (download, or synthesis) and 1 (data dirs) belong to the corpus: local/data.sh gets
# --stage/--stop_stage/--nj always, --db_root and --heldout_spks when set, then $local_data_opts.
run_local_data() {
  local first=$1 last=$2
  [ -x local/data.sh ] || die "local/data.sh not found in $(pwd): every recipe provides its own data preparation"
  local args=(--stage "$first" --stop_stage "$last" --nj "$nj")
  [ -z "$db_root" ] || args+=(--db_root "$db_root")
  [ -z "$heldout_spks" ] || args+=(--heldout_spks "$heldout_spks")
  # shellcheck disable=SC2086  # local_data_opts is a list of words, as in ESPnet
  local/data.sh "${args[@]}" $local_data_opts
}

# Stage 2: features of each data set into dump/<set>, then statistics from dump/train only.
# Extra arguments go to every `vc extract` (e.g. --save-audio).
extract_features() {
  local set
  for set in train dev eval; do
    [ -f "data/$set/wav.scp" ] || die "data/$set/wav.scp not found: run stages 0-1 first"
    ${train_cmd} "dump/$set/log/extract.log" \
      vc extract --data "data/$set" --conf "$feats_conf" --out "dump/$set" --nj "$nj" --no-progress "$@"
    tail -n 3 "dump/$set/log/extract.log" | head -n 1
  done
  ${train_cmd} dump/train/log/stats.log vc stats --dump dump/train --nj "$nj"
  tail -n 3 dump/train/log/stats.log | head -n 1
}

# How `vc train` is launched, one word per line: through torchrun (DDP) when more than one
# process trains, on GPUs when --ngpu > 0 and on CPU processes (gloo) when --cpu_procs > 1.
check_scaling() {
  [ "$ngpu" -ge 0 ] && [ "$num_nodes" -ge 1 ] && [ "$cpu_procs" -ge 1 ] ||
    die "--ngpu must be 0 or more, --num_nodes and --cpu_procs 1 or more"
  [ "$ngpu" -eq 0 ] || [ "$cpu_procs" -eq 1 ] || die "--cpu_procs is for CPU training (--ngpu 0)"
  if [ "$num_nodes" -gt 1 ] && [[ $cuda_cmd != *slurm.pl* ]]; then
    die "--num_nodes $num_nodes needs a cluster: set cuda_cmd to 'utils/slurm.pl --gpu N' in cmd.sh"
  fi
}

train_launcher() {
  local per_node=$((ngpu > 0 ? ngpu : cpu_procs))
  if [ $((per_node * num_nodes)) -eq 1 ]; then
    echo vc
  elif [ "$num_nodes" -eq 1 ]; then
    printf '%s\n' torchrun --standalone --nnodes 1 --nproc_per_node "$per_node" -m vc
  else
    # One torchrun per node (srun), meeting at the node the batch script runs on. The words
    # are left unexpanded here: the job's shell expands them (run.pl and slurm.pl pass words
    # without spaces as shell syntax).
    printf '%s\n' srun --ntasks-per-node=1 torchrun --nnodes "$num_nodes" --nproc_per_node "$per_node" \
      --rdzv_backend c10d '--rdzv_id=$SLURM_JOB_ID' '--rdzv_endpoint=$SLURMD_NODENAME:29500' -m vc
  fi
}

# Run `vc train ARGS...` with its log in $1, on CPU or GPUs as the scaling options say.
launch_train() {
  local log=$1
  shift
  # --resume auto: a rerun, or a preempted job that utils/slurm.pl requeued, goes on from the
  # latest checkpoint instead of starting over (a finished experiment trains no more steps).
  launch_vc "$log" train "$@" --resume auto
}

# Run the training command `vc ARGS...` (`vc train ...`, `vc image train ...`) with its log in
# $1, through torchrun when more than one process trains, with --device cuda or cpu appended.
# Threads: a CPU job gets $train_threads cores (all by default), shared among its processes.
launch_vc() {
  local log=$1
  shift
  local launcher
  mapfile -t launcher < <(train_launcher)
  if [ "$ngpu" -gt 0 ]; then
    local nodes=()
    [ "$num_nodes" -eq 1 ] || nodes=(--num-nodes "$num_nodes")
    ${cuda_cmd} --gpu "$ngpu" "${nodes[@]}" "$log" "${launcher[@]}" "$@" --device cuda
  else
    local threads=${train_threads:-$(cores)}
    OMP_NUM_THREADS=$(( threads / cpu_procs > 0 ? threads / cpu_procs : 1 )) \
      ${train_cmd} "$log" "${launcher[@]}" "$@" --device cpu
  fi
}
