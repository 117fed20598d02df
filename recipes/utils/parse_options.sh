#!/usr/bin/env bash
# Command-line options for recipe scripts, with Kaldi/ESPnet semantics.
#
# Source this after declaring the script's variables (their defaults):
#     stage=1
#     use_gpu=false
#     help_message="Usage: $0 [options] <data-dir>"
#     . utils/parse_options.sh
#
# Then `--stage 3`, `--stage=3` and `--use-gpu true` set those variables; an option
# whose variable is not declared is rejected, and a variable whose default is true or
# false only takes true or false. `--config FILE` sources FILE first; options given on
# the command line override what it sets, wherever they appear. `--help`/`-h` prints
# $help_message. Parsing stops at the first argument that is not an option, or after
# `--`; the remaining arguments are left in "$@".
#
# Everything here lives in the caller's shell, so the helpers' names start with `_po_`
# and are removed at the end.

_po_fail() {
  echo "$0: $*" >&2
  exit 1
}

# Print the variable an option names (`--foo-bar` -> foo_bar), or fail if it is not declared.
_po_variable() {
  local name=${1#--}
  name=${name//-/_}
  if [[ ! $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [[ -z ${!name+set} ]]; then
    _po_fail "invalid option $1"
  fi
  echo "$name"
}

# First pass: source every --config, so command-line options override its values.
# Configs are sourced here, at the top level, so their assignments are never local.
_po_i=1
while ((_po_i <= $#)); do
  _po_arg=${!_po_i}
  _po_config=
  case $_po_arg in
    -- | --help | -h) break ;;
    --config=*) _po_config=${_po_arg#--config=} ;;
    --config)
      _po_next=$((_po_i + 1))
      ((_po_next <= $#)) || _po_fail "option --config needs a value"
      _po_config=${!_po_next}
      ;;
    --*) ;;
    *) break ;;
  esac
  if [[ -n $_po_config ]]; then
    [[ -f $_po_config && -r $_po_config ]] || _po_fail "cannot read config file '$_po_config'"
    # shellcheck disable=SC1090
    . "$_po_config"
  fi
  if [[ $_po_arg == --*=* ]]; then
    _po_i=$((_po_i + 1))
  else
    _po_i=$((_po_i + 2))
  fi
done

# Second pass: set the variables in order and shift the options away.
while (($# > 0)); do
  case $1 in
    --)
      shift
      break
      ;;
    --help | -h)
      printf '%s\n' "${help_message:-}"
      exit 0
      ;;
    --*=*)
      _po_option=${1%%=*}
      _po_value=${1#*=}
      shift
      ;;
    --*)
      _po_option=$1
      (($# >= 2)) || _po_fail "option $1 needs a value"
      _po_value=$2
      shift 2
      ;;
    *) break ;;
  esac
  [[ $_po_option == --config ]] && continue
  _po_name=$(_po_variable "$_po_option") || exit 1
  if [[ ${!_po_name} == true || ${!_po_name} == false ]] && [[ $_po_value != true && $_po_value != false ]]; then
    _po_fail "option $_po_option expects true or false, got '$_po_value'"
  fi
  printf -v "$_po_name" '%s' "$_po_value"
done

unset -v _po_i _po_arg _po_next _po_config _po_option _po_value _po_name
unset -f _po_fail _po_variable
true
