#!/usr/bin/env perl
# Run a command, or an array of jobs, on a Slurm cluster. run.pl and slurm.pl share the
# interface of Kaldi's queue.pl, so a recipe switches between this machine and a cluster
# by setting train_cmd/cuda_cmd in its cmd.sh and nothing else:
#
#   slurm.pl [options] [JOB=1:N] LOGFILE CMD ...
#
# With a range NAME=A:B (any variable name) one sbatch job array is submitted with tasks
# A..B, NAME being replaced by the task's number in LOGFILE and CMD exactly as run.pl does.
# Each task runs CMD through bash in the current directory (after sourcing ./path.sh when
# there is one), stdout and stderr going to its log, which gets run.pl's header and footer
# ("# CMD", "# Started at ...", "# Accounting: ...", "# Ended (code N) at ...").
#
# Options:
#   --config FILE            how options become sbatch arguments (default: conf/slurm.conf
#                            when it exists, else the built-in config below; the format is
#                            explained in recipes/conf/slurm.conf)
#   --mem 4G, --gpu N, --num-threads N, --time T, or any --name VALUE the config describes
#   --max-jobs-run K, -tc K  at most K tasks at once (--array=A-B%K)
#   -pe smp N                GridEngine's spelling of --num-threads N
#   -V                       ignored (a GridEngine flag)
#   -X VALUE                 any other single-dash option goes to sbatch as is (-p PART, -A ACCT)
# sbatch is the first word of the config's "command" line; $SBATCH, when set, replaces it.
#
# The job script and sbatch's own output go to LOGDIR/q/. Completion is seen by polling for a
# status file that each task writes when it ends, so neither sacct nor `sbatch --wait` is
# needed; when squeue is on PATH it is asked now and then whether the job still exists, so a
# task killed by Slurm (time limit, node failure) is reported instead of waited for forever.
# Interrupting slurm.pl cancels the job with scancel.
# Exit status: 0 when every task succeeds, else 1 with a message naming a failed log.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Basename qw(basename dirname);
use File::Path qw(make_path);
use POSIX ();
use Time::HiRes ();

my $usage = "Usage: slurm.pl [options] [JOB=1:N] LOGFILE CMD ...\n"
  . "  e.g. slurm.pl --mem 4G --gpu 1 JOB=1:8 exp/log/train.JOB.log vc train ...\n";

# Used when neither --config nor conf/slurm.conf is there.
my $builtin_config = <<'EOF';
command sbatch --export=ALL --ntasks-per-node=1
option time=* --time $0
option mem=* --mem-per-cpu $0
option mem=0
option num_threads=* --cpus-per-task $0
option num_threads=1
default gpu=0
option gpu=0
option gpu=* -p gpu --gres=gpu:$0 --time 4:0:0
option num_nodes=* --nodes $0
option num_nodes=1
EOF

# How often to ask squeue whether the job still exists, and how long to wait for status
# files after it has gone (shared file systems can show them late). Tests shorten these.
my $check_seconds = $ENV{SLURM_PL_CHECK_SECONDS} // 30;
my $grace_seconds = 2 * $check_seconds;

sub fail {
    print STDERR "slurm.pl: $_[0]\n";
    exit 1;
}

my %cli;            # option name (mem, gpu, num_threads, ...) -> value
my @passthrough;    # single-dash options for sbatch
my $config_file;
my ($job_name, $job_start, $job_end);

# Options and the range may come in any order before LOGFILE, as with queue.pl.
while (@ARGV) {
    my $arg = $ARGV[0];
    if ($arg =~ /^([A-Za-z_]\w*)=(\d+)(?::(\d+))?$/) {
        ($job_name, $job_start, $job_end) = ($1, $2, $3 // $2);
        fail("invalid job range '$arg': the start is after the end") if $job_start > $job_end;
        shift @ARGV;
    }
    elsif ($arg =~ /^-/) {
        shift @ARGV;
        next if $arg eq '-V';
        fail("option $arg needs a value\n$usage") unless @ARGV;
        my $value = shift @ARGV;
        if    ($arg eq '--config') { $config_file = $value }
        elsif ($arg eq '-tc')      { $cli{max_jobs_run} = $value }
        elsif ($arg eq '-pe') {    # -pe smp N
            fail("option -pe needs two values") unless @ARGV;
            $cli{num_threads} = shift @ARGV;
        }
        elsif ($arg =~ /^--(\w[\w-]*)$/) { (my $name = $1) =~ tr/-/_/; $cli{$name} = $value }
        else                             { push @passthrough, $arg, $value }
    }
    else {
        last;
    }
}
for my $name ('max_jobs_run', 'num_threads') {
    next unless defined $cli{$name};
    (my $option = "--$name") =~ tr/_/-/;
    fail("$option expects a positive integer, got '$cli{$name}'") unless $cli{$name} =~ /^[1-9]\d*$/;
}

fail("expected a log file and a command\n$usage") if @ARGV < 2;
my $log_template = shift @ARGV;
my $cmd_template = join ' ', map { shell_word($_) } @ARGV;
if (defined $job_name && $job_end > $job_start && index($log_template, $job_name) < 0) {
    fail("$job_name=$job_start:$job_end runs several jobs but the log file '$log_template' does not contain $job_name");
}

# Kaldi's convention, as in run.pl: a word without whitespace is passed as is, so `\|` or
# '>' act as shell syntax; a word with whitespace is quoted to stay one word.
sub shell_word {
    my ($word) = @_;
    return $word if $word =~ /^\S+$/;
    return sh_quote($word);
}

sub sh_quote {
    (my $quoted = $_[0]) =~ s/'/'\\''/g;
    return "'$quoted'";
}

sub substitute {
    my ($text, $id) = @_;
    $text =~ s/\Q$job_name\E/$id/g if defined $job_name;
    return $text;
}

sub read_lines {
    open(my $fh, '<', $_[0]) or return ();
    chomp(my @lines = <$fh>);
    return @lines;
}

sub on_path {
    my ($program) = @_;
    return grep { -x "$_/$program" } split /:/, ($ENV{PATH} // '');
}

# --- the config: which sbatch arguments each option turns into -----------------------

my ($config_name, $config_text);
if (defined $config_file || -f 'conf/slurm.conf') {
    $config_name = $config_file // 'conf/slurm.conf';
    open(my $fh, '<', $config_name) or fail("cannot read config file $config_name: $!");
    local $/;
    $config_text = <$fh>;
    close($fh);
}
else {
    ($config_name, $config_text) = ('the built-in config', $builtin_config);
}

my (@command, %any_value, %by_value, %default);
my $line_number = 0;
for my $raw (split /\n/, $config_text) {
    $line_number++;
    (my $line = $raw) =~ s/#.*//;
    $line =~ s/^\s+|\s+$//g;
    next if $line eq '';
    if ($line =~ /^command\s+(.+)$/) {
        @command = split ' ', $1;
    }
    elsif ($line =~ /^option\s+(\w+)=\*(?:\s+(.*))?$/) {    # option mem=* --mem-per-cpu $0
        $any_value{$1} = $2 // '';
    }
    elsif ($line =~ /^option\s+(\w+)=(\S+)(?:\s+(.*))?$/) {    # option gpu=0 [args]
        $by_value{$1}{$2} = $3 // '';
    }
    elsif ($line =~ /^default\s+(\w+)=(\S+)$/) {
        $default{$1} = $2;
    }
    else {
        fail("$config_name:$line_number: cannot parse '$raw' "
              . "(expected 'command ...', 'option NAME=VALUE ...', 'option NAME=* ...' or 'default NAME=VALUE')");
    }
}
fail("$config_name has no 'command sbatch ...' line") unless @command;
$command[0] = $ENV{SBATCH} if defined $ENV{SBATCH} && $ENV{SBATCH} ne '';
$cli{$_} //= $default{$_} for keys %default;

# Sorted, so that the same options always give the same command line (and an explicit
# --time comes after what --gpu adds, so it wins).
my @options;
for my $name (sort keys %cli) {
    next if $name eq 'max_jobs_run';    # part of --array below
    my $value = $cli{$name};
    my $args;
    if (exists $by_value{$name}{$value}) {
        $args = $by_value{$name}{$value};
    }
    elsif (exists $any_value{$name}) {
        ($args = $any_value{$name}) =~ s/\$0/$value/g;
    }
    else {
        (my $option = "--$name") =~ tr/_/-/;
        fail("$option $value is not described in $config_name (no 'option $name=$value' or 'option $name=*' line)");
    }
    push @options, split ' ', $args;
}

# --- the job script -------------------------------------------------------------------

my $cwd   = getcwd();
my @tasks = defined $job_name ? ($job_start .. $job_end) : (1);
my %logs  = map { $_ => substitute($log_template, $_) } @tasks;
my %cmds  = map { $_ => substitute($cmd_template, $_) } @tasks;

# LOGDIR/q/extract.sh and LOGDIR/q/extract.log for exp/log/extract.JOB.log.
my $qdir = dirname($logs{ $tasks[0] }) . '/q';
my $stem = basename($log_template);
$stem =~ s/\.?\Q$job_name\E//g if defined $job_name;
$stem =~ s/\.[A-Za-z]{1,5}$//;
$stem = 'job' if $stem eq '';
my $script = "$qdir/$stem.sh";
my $qlog   = "$qdir/$stem.log";
my $done   = "$qdir/done.$$";    # + .TASK: holds the task's exit code
for my $path ($qdir, map { dirname($_) } values %logs) {
    next if -d $path;
    eval { make_path($path) };
    fail("cannot create directory $path") unless -d $path;
}
unlink(values %logs, map { "$done.$_" } @tasks);    # so nothing stale is mistaken for this run's

my $absolute = sub { $_[0] =~ m{^/} ? $_[0] : "$cwd/$_[0]" };
my @array;
if (defined $job_name) {
    @array = ("--array=$job_start-$job_end" . ($cli{max_jobs_run} ? "%$cli{max_jobs_run}" : ''));
}
my @sbatch = (@command, @options, @passthrough, '--open-mode=append',
    '-o', $absolute->($qlog), '-e', $absolute->($qlog), @array, $absolute->($script));
my $threads = $cli{num_threads} // 1;

my $text = "#!/usr/bin/env bash\n"
  . "# Written by slurm.pl in $cwd and submitted with:\n# @sbatch\n"
  . "cd " . sh_quote($cwd) . " || exit 1\n"
  . "status_file=" . sh_quote($done) . "\n"
  . "[ -f ./path.sh ] && . ./path.sh\n"
  . (defined $job_name ? "task=\$SLURM_ARRAY_TASK_ID\n" : "task=1\n")
  . "echo \"slurm.pl: task \$task on \$(hostname)\"\n"
  . "case \$task in\n";
$text .= "  $_) log=" . sh_quote($logs{$_}) . "; cmd=" . sh_quote($cmds{$_}) . " ;;\n" for @tasks;
$text .= <<"EOF";
  *) echo "slurm.pl: no task '\$task' in this job script" >&2; exit 1 ;;
esac
stamp() { LC_ALL=C date '+%a %b %e %H:%M:%S %Z %Y'; }
start=\$(date +%s)
# The log gets run.pl's header and footer; the status file tells slurm.pl this task ended.
if { printf '# %s\\n' "\$cmd"; printf '# Started at %s\\n#\\n' "\$(stamp)"; } > "\$log"; then
  bash -c "\$cmd" < /dev/null >> "\$log" 2>&1
  code=\$?
  elapsed=\$((\$(date +%s) - start))
  printf '# Accounting: time=%d threads=$threads\\n# Ended (code %d) at %s, elapsed time %d seconds\\n' \\
    "\$elapsed" "\$code" "\$(stamp)" "\$elapsed" >> "\$log"
else
  code=1
fi
# 75: vc train was preempted (SIGTERM), finished its step and saved a checkpoint. Requeue the
# job; run with --resume auto (as the recipes train), it goes on from there. No status file
# yet: slurm.pl keeps waiting for the requeued run.
if [ "\$code" = 75 ] && [ -n "\${SLURM_JOB_ID:-}" ] && command -v scontrol >/dev/null; then
  echo "# slurm.pl: preempted (exit 75); requeued" >> "\$log"
  scontrol requeue "\$SLURM_JOB_ID" && exit 0
fi
echo "\$code" > "\$status_file.\$task.tmp" && mv "\$status_file.\$task.tmp" "\$status_file.\$task"
exit \$((code == 0 ? 0 : 1))
EOF
open(my $script_fh, '>', $script) or fail("cannot write $script: $!");
print $script_fh $text;
close($script_fh) or fail("cannot write $script: $!");
chmod 0755, $script;

# --- submit and wait -----------------------------------------------------------------

# Interrupted while waiting: cancel the job rather than leave it running unwatched.
my $job_id;
$SIG{INT} = $SIG{TERM} = sub {
    fail("interrupted") unless defined $job_id;
    fail("interrupted; job $job_id is still queued or running (no scancel on PATH)") unless on_path('scancel');
    system('scancel', $job_id);
    fail("interrupted; cancelled job $job_id");
};

open(my $qlog_fh, '>', $qlog) or fail("cannot write $qlog: $!");
close($qlog_fh);
my $pid = fork() // fail("cannot fork: $!");
if ($pid == 0) {
    open(STDIN,  '<',  '/dev/null') or POSIX::_exit(127);
    open(STDOUT, '>>', $qlog)       or POSIX::_exit(127);
    open(STDERR, '>&', \*STDOUT)    or POSIX::_exit(127);
    exec { $sbatch[0] } @sbatch or do { print STDERR "cannot run $sbatch[0]: $!\n"; POSIX::_exit(127) };
}
waitpid($pid, 0);
my $submit_status = $?;
my @qlog_lines    = read_lines($qlog);
if ($submit_status != 0) {
    my $last = @qlog_lines ? $qlog_lines[-1] : 'no output';
    fail(sprintf("submitting with %s failed (exit code %d): %s; see %s", $sbatch[0], $submit_status >> 8, $last, $qlog));
}
# "Submitted batch job 123", or "123[;cluster]" with --parsable in the config.
($job_id) = map { /Submitted batch job (\d+)/ || /^(\d+)(?:;\S+)?$/ ? $1 : () } @qlog_lines;
fail("$sbatch[0] did not print 'Submitted batch job <id>'; see $qlog") unless defined $job_id;

my %codes;    # task -> exit code, or undef when the job vanished without one
my %pending = map { $_ => 1 } @tasks;
my ($wait, $last_check, $gone_since, $give_up) = (0.05, Time::HiRes::time(), undef, 0);
my $have_squeue = on_path('squeue');
while (%pending) {
    for my $task (sort { $a <=> $b } keys %pending) {
        next unless -f "$done.$task";
        my ($code) = read_lines("$done.$task");
        $codes{$task} = defined $code && $code =~ /^\d+$/ ? $code : 1;
        unlink "$done.$task";
        delete $pending{$task};
    }
    last unless %pending;
    if ($give_up) {    # decided after the last check, then the status files were read once more
        for my $task (sort { $a <=> $b } keys %pending) {
            print STDERR "slurm.pl: job $job_id left the queue but task $task wrote no exit status "
              . "(killed, or over its time limit?); see $logs{$task} and $qlog\n";
            $codes{$task} = undef;
        }
        last;
    }
    Time::HiRes::sleep($wait);
    $wait = 3 if ($wait *= 1.5) > 3;
    next unless $have_squeue && Time::HiRes::time() - $last_check >= $check_seconds;
    $last_check = Time::HiRes::time();
    my $listed = `squeue -h -j $job_id -o %i 2>&1`;
    my $gone   = ($? == 0 && $listed !~ /\S/) || $listed =~ /Invalid job id/i;
    $gone_since = $gone ? ($gone_since // $last_check) : undef;
    $give_up    = defined $gone_since && $last_check - $gone_since >= $grace_seconds;
}

my @failed = grep { !defined $codes{$_} || $codes{$_} != 0 } @tasks;
if (@failed) {
    printf STDERR "slurm.pl: %d / %d failed, log is in %s\n", scalar(@failed), scalar(@tasks), $logs{ $failed[0] };
    exit 1;
}
exit 0;
