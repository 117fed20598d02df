#!/usr/bin/env perl
# Split a Kaldi table (scp, utt2spk, text, ...) into contiguous parts (Kaldi semantics):
#
#   split_scp.pl [--utt2spk=UTT2SPK] IN OUT1 OUT2 ...
#
# Without --utt2spk the lines are cut into parts whose sizes differ by at most one, the
# larger parts first. With --utt2spk a speaker's lines all go to one part (so per-speaker
# statistics can be computed per job): the speakers, in the order they first appear, are
# cut into runs whose line counts are as equal as can be. Asking for more parts than
# lines (or speakers) is an error: Kaldi jobs must not get empty input.
use strict;
use warnings;

my $usage = "Usage: split_scp.pl [--utt2spk=UTT2SPK] IN OUT1 OUT2 ...\n"
  . "  e.g. split_scp.pl --utt2spk=data/utt2spk data/wav.scp split2/1/wav.scp split2/2/wav.scp\n";

sub fail {
    print STDERR "split_scp.pl: $_[0]\n";
    exit 1;
}

my $utt2spk_file;
while (@ARGV && $ARGV[0] =~ /^--/) {
    my $opt = shift @ARGV;
    if ($opt =~ /^--utt2spk=(.+)$/) {
        $utt2spk_file = $1;
    }
    elsif ($opt eq '--utt2spk') {
        fail("option --utt2spk needs a value\n$usage") unless @ARGV;
        $utt2spk_file = shift @ARGV;
    }
    else {
        fail("unknown option '$opt'\n$usage");
    }
}
fail("expected an input file and at least one output file\n$usage") if @ARGV < 2;
my ($input, @outputs) = @ARGV;
my $n = @outputs;

open(my $in_fh, '<', $input) or fail("cannot read $input: $!");
my @lines = <$in_fh>;
close($in_fh);
fail("$input is empty") unless @lines;

# Units to distribute: one line each, or all the lines of one speaker.
my @units;
if (defined $utt2spk_file) {
    my %utt2spk;
    open(my $fh, '<', $utt2spk_file) or fail("cannot read $utt2spk_file: $!");
    while (my $line = <$fh>) {
        my @fields = split ' ', $line;
        fail("$utt2spk_file:$.: expected '<utt> <speaker>', found " . scalar(@fields) . " field(s)") if @fields != 2;
        $utt2spk{ $fields[0] } = $fields[1];
    }
    close($fh);
    my %unit_of;
    for my $i (0 .. $#lines) {
        my ($utt) = split ' ', $lines[$i];
        fail("$input:" . ($i + 1) . ": empty line") unless defined $utt;
        my $spk = $utt2spk{$utt} // fail("$input:" . ($i + 1) . ": utterance '$utt' is not in $utt2spk_file");
        unless (exists $unit_of{$spk}) {
            $unit_of{$spk} = scalar @units;
            push @units, [];
        }
        push @{ $units[ $unit_of{$spk} ] }, $lines[$i];
    }
    fail("cannot split the " . scalar(@units) . " speaker(s) of $input into $n parts (reduce the number of jobs)")
      if @units < $n;
}
else {
    @units = map { [$_] } @lines;
    fail("cannot split the " . scalar(@units) . " line(s) of $input into $n parts (reduce the number of jobs)")
      if @units < $n;
}

# Part boundaries: indices into @units, 0 = b[0] < b[1] < ... < b[n] = number of units.
# Without --utt2spk every unit is one line and the first (lines mod n) parts get one more.
# With it, speakers are first dealt out evenly by count, then a boundary moves by one
# speaker whenever that brings the two parts beside it closer in size (as Kaldi does);
# each move shrinks the sum of squared part sizes, so this ends.
my $size      = int(@units / $n);
my $remainder = @units - $size * $n;
my @bounds    = (0);
push @bounds, $bounds[-1] + $size + ($_ <= $remainder ? 1 : 0) for 1 .. $n;
if (defined $utt2spk_file) {
    my @cumulative = (0);
    push @cumulative, $cumulative[-1] + scalar(@$_) for @units;
    my $lines = sub { $cumulative[ $_[1] ] - $cumulative[ $_[0] ] };
    my $changed = 1;
    while ($changed) {
        $changed = 0;
        for my $k (1 .. $n - 1) {
            my ($left, $right) = ($lines->(@bounds[ $k - 1, $k ]), $lines->(@bounds[ $k, $k + 1 ]));
            my $last  = $lines->($bounds[$k] - 1, $bounds[$k]);    # the left part's last speaker
            my $first = $lines->($bounds[$k], $bounds[$k] + 1);    # the right part's first speaker
            if ($bounds[$k] - 1 > $bounds[ $k - 1 ] && abs($right - $left + 2 * $last) < abs($right - $left)) {
                $bounds[$k]--;
                $changed = 1;
            }
            elsif ($bounds[$k] + 1 < $bounds[ $k + 1 ] && abs($right - $left - 2 * $first) < abs($right - $left)) {
                $bounds[$k]++;
                $changed = 1;
            }
        }
    }
}

for my $part (0 .. $n - 1) {
    my $out = $outputs[$part];
    open(my $fh, '>', $out) or fail("cannot write $out: $!");
    print $fh @{ $units[$_] } for $bounds[$part] .. $bounds[ $part + 1 ] - 1;
    close($fh) or fail("cannot write $out: $!");
}
