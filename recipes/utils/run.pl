#!/usr/bin/env perl
# Run a command, or an array of jobs, on this machine with the Kaldi queue.pl interface:
#
#   run.pl [options] [JOB=1:N] LOGFILE CMD ...
#
# With a range NAME=A:B (any variable name: JOB, SPLIT, ...) one job runs per value,
# with NAME replaced by that value in LOGFILE and CMD. Each job runs through bash with
# stdout and stderr going to its log. Options:
#   --max-jobs-run K (or -tc K)  run at most K jobs at a time (default: all at once)
#   --num-threads N              recorded in the log's accounting line
#   other queue options (--mem 4G, --gpu 1, --config FILE, -q QUEUE, -pe smp N, -V)
#   are accepted and ignored, so a recipe can switch between run.pl and a queue.
# Exit status: 0 when every job succeeds, else 1 with a message naming a failed log.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use POSIX qw(strftime);

my $usage = "Usage: run.pl [options] [JOB=1:N] LOGFILE CMD ...\n"
  . "  e.g. run.pl --max-jobs-run 4 JOB=1:8 exp/log/extract.JOB.log vc extract data/split8/JOB\n";

sub fail {
    print STDERR "run.pl: $_[0]\n";
    exit 1;
}

my $max_jobs_run = 0;    # 0 = no limit
my $num_threads  = 1;
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
        next if $arg eq '-V';    # a GridEngine flag without a value
        fail("option $arg needs a value\n$usage") unless @ARGV;
        my $value = shift @ARGV;
        if ($arg eq '--max-jobs-run' || $arg eq '-tc') {
            fail("$arg expects a positive integer, got '$value'") unless $value =~ /^[1-9]\d*$/;
            $max_jobs_run = $value;
        }
        elsif ($arg eq '--num-threads') {
            fail("$arg expects a positive integer, got '$value'") unless $value =~ /^[1-9]\d*$/;
            $num_threads = $value;
        }
        elsif ($arg eq '-pe') {    # -pe smp N: a parallel environment and its slot count
            fail("option -pe needs two values") unless @ARGV;
            shift @ARGV;
        }
    }
    else {
        last;
    }
}

fail("expected a log file and a command\n$usage") if @ARGV < 2;
my $log_template = shift @ARGV;
my $cmd_template = join ' ', map { shell_word($_) } @ARGV;
if (defined $job_name && $job_end > $job_start && index($log_template, $job_name) < 0) {
    fail("$job_name=$job_start:$job_end runs several jobs but the log file '$log_template' does not contain $job_name");
}
my @jobs = defined $job_name ? ($job_start .. $job_end) : (undef);

# Kaldi's convention: a word without whitespace is passed as is, so `\|` or '>' in the
# arguments act as shell syntax; a word with whitespace is quoted to stay one word.
sub shell_word {
    my ($word) = @_;
    return $word if $word =~ /^\S+$/;
    (my $quoted = $word) =~ s/'/'\\''/g;
    return "'$quoted'";
}

sub substitute {
    my ($text, $id) = @_;
    $text =~ s/\Q$job_name\E/$id/g if defined $id;
    return $text;
}

sub date_string { return strftime('%a %b %e %H:%M:%S %Z %Y', localtime) }

# Runs in the forked child: write the log header, run the command, write the footer.
sub run_job {
    my ($id) = @_;
    my $log = substitute($log_template, $id);
    my $cmd = substitute($cmd_template, $id);
    eval { make_path(dirname($log)) };
    open(my $fh, '>', $log) or do { print STDERR "run.pl: cannot write log file $log: $!\n"; return 1 };
    print $fh "# $cmd\n# Started at " . date_string() . "\n#\n";
    close($fh);
    my $start = time;

    my $pid = fork() // do { print STDERR "run.pl: cannot fork: $!\n"; return 1 };
    if ($pid == 0) {
        open(STDIN,  '<',  '/dev/null') or die "run.pl: /dev/null: $!\n";
        open(STDOUT, '>>', $log)        or die "run.pl: cannot append to $log: $!\n";
        open(STDERR, '>&', \*STDOUT)    or die "run.pl: cannot redirect stderr: $!\n";
        exec('bash', '-c', $cmd) or die "run.pl: cannot run bash: $!\n";
    }
    waitpid($pid, 0);
    my $status  = $?;
    my $code    = $status >> 8;
    my $signal  = $status & 127;
    my $elapsed = time - $start;
    my $result  = $signal ? "code $code; signal $signal" : "code $code";

    open($fh, '>>', $log) or do { print STDERR "run.pl: cannot append to $log: $!\n"; return 1 };
    print $fh "# Accounting: time=$elapsed threads=$num_threads\n";
    print $fh "# Ended ($result) at " . date_string() . ", elapsed time $elapsed seconds\n";
    close($fh);
    return $status == 0 ? 0 : 1;
}

my %running;    # pid -> job index
my @failed;     # job indices
sub reap_one {
    my $pid = wait();
    return if $pid < 0;
    my $index = delete $running{$pid};
    push @failed, $index if defined $index && $? != 0;
}

for my $index (0 .. $#jobs) {
    reap_one() while $max_jobs_run && keys(%running) >= $max_jobs_run;
    my $pid = fork() // fail("cannot fork: $!");
    if ($pid == 0) {
        exit run_job($jobs[$index]);
    }
    $running{$pid} = $index;
}
reap_one() while %running;

if (@failed) {
    my ($first) = sort { $a <=> $b } @failed;
    my $log = substitute($log_template, $jobs[$first]);
    printf STDERR "run.pl: %d / %d failed, log is in %s\n", scalar(@failed), scalar(@jobs), $log;
    exit 1;
}
exit 0;
