#!/usr/bin/env perl
# spk2utt ("<speaker> <utt> <utt> ...") to utt2spk ("<utt> <speaker>" lines) with Kaldi
# semantics: one line per utterance, in the order they are listed.
#
#   spk2utt_to_utt2spk.pl [SPK2UTT] > UTT2SPK     (stdin when no file is given)
use strict;
use warnings;

if (@ARGV > 1 || (@ARGV && $ARGV[0] =~ /^-./)) {
    print STDERR "Usage: spk2utt_to_utt2spk.pl [SPK2UTT] > UTT2SPK\n";
    exit 1;
}
my ($in, $name) = (\*STDIN, 'stdin');
if (@ARGV) {
    $name = $ARGV[0];
    open($in, '<', $name) or do { print STDERR "spk2utt_to_utt2spk.pl: cannot read $name: $!\n"; exit 1 };
}

while (my $line = <$in>) {
    my ($spk, @utts) = split ' ', $line;
    unless (@utts) {
        print STDERR "spk2utt_to_utt2spk.pl: $name:$.: expected '<speaker> <utt> [<utt> ...]'\n";
        exit 1;
    }
    print "$_ $spk\n" for @utts;
}
