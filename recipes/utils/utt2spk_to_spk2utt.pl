#!/usr/bin/env perl
# utt2spk ("<utt> <speaker>" lines) to spk2utt ("<speaker> <utt> <utt> ...") with Kaldi
# semantics: speakers in the order they first appear, each with its utterances in order.
#
#   utt2spk_to_spk2utt.pl [UTT2SPK] > SPK2UTT     (stdin when no file is given)
use strict;
use warnings;

if (@ARGV > 1 || (@ARGV && $ARGV[0] =~ /^-./)) {
    print STDERR "Usage: utt2spk_to_spk2utt.pl [UTT2SPK] > SPK2UTT\n";
    exit 1;
}
my ($in, $name) = (\*STDIN, 'stdin');
if (@ARGV) {
    $name = $ARGV[0];
    open($in, '<', $name) or do { print STDERR "utt2spk_to_spk2utt.pl: cannot read $name: $!\n"; exit 1 };
}

my (@speakers, %utts);
while (my $line = <$in>) {
    my @fields = split ' ', $line;
    if (@fields != 2) {
        print STDERR "utt2spk_to_spk2utt.pl: $name:$.: expected '<utt> <speaker>', found "
          . scalar(@fields) . " field(s)\n";
        exit 1;
    }
    my ($utt, $spk) = @fields;
    push @speakers, $spk unless exists $utts{$spk};
    push @{ $utts{$spk} }, $utt;
}
print join(' ', $_, @{ $utts{$_} }), "\n" for @speakers;
