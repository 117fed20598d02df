#!/usr/bin/env perl
# Keep the lines of a Kaldi table whose Nth field is listed in an id list (Kaldi semantics):
#
#   filter_scp.pl [--exclude] [-f N] ID_LIST [IN] > OUT
#
# Only the first field of each ID_LIST line counts, so a utt2spk or another scp works as
# a list. IN defaults to stdin. -f N compares field N (1-based) of IN, e.g. -f 2 filters
# utt2spk by speaker; --exclude keeps the lines that are NOT listed instead.
use strict;
use warnings;

my $usage = "Usage: filter_scp.pl [--exclude] [-f N] ID_LIST [IN] > OUT\n"
  . "  e.g. filter_scp.pl -f 2 speakers.list data/train/utt2spk\n";

sub fail {
    print STDERR "filter_scp.pl: $_[0]\n";
    exit 1;
}

my ($exclude, $field) = (0, 1);
while (@ARGV && $ARGV[0] =~ /^-./) {
    my $opt = shift @ARGV;
    if ($opt eq '--exclude') {
        $exclude = 1;
    }
    elsif ($opt eq '-f') {
        fail("option -f needs a value\n$usage") unless @ARGV;
        $field = shift @ARGV;
        fail("-f expects a positive field number, got '$field'") unless $field =~ /^[1-9]\d*$/;
    }
    else {
        fail("unknown option '$opt'\n$usage");
    }
}
fail("expected an id list and at most one input file\n$usage") if @ARGV < 1 || @ARGV > 2;
my ($list, $input) = (@ARGV, '-');

my %listed;
open(my $list_fh, '<', $list) or fail("cannot read id list $list: $!");
while (my $line = <$list_fh>) {
    my ($id) = split ' ', $line;
    fail("$list:$.: empty line in the id list") unless defined $id;
    $listed{$id} = 1;
}
close($list_fh);

my $in_fh;
if ($input eq '-') {
    $in_fh = \*STDIN;
}
else {
    open($in_fh, '<', $input) or fail("cannot read $input: $!");
}
my $name = $input eq '-' ? 'stdin' : $input;
while (my $line = <$in_fh>) {
    my @fields = split ' ', $line;
    fail("$name:$.: line has " . scalar(@fields) . " field(s), -f $field needs at least $field") if @fields < $field;
    print $line if $listed{ $fields[ $field - 1 ] } xor $exclude;
}
