# How jobs run: utils/run.pl on this machine; utils/slurm.pl or queue.pl on a cluster
# (same interface: CMD [JOB=1:N] LOG command...).
export train_cmd="utils/run.pl"
export cuda_cmd="utils/run.pl --gpu 1"
