# assume: shell integration for {{SHELL}}. Add to {{RC}}:
#   eval "$(assume init {{SHELL}})"
# Then `assume PROFILE` and `assume --unset` change this shell's variables directly; every
# other command line runs as it is. Which is which, `assume __classify` decides with the same
# parser as the command itself, so no other output is ever evaluated.
assume() {
  if [ "$(command assume __classify "$@" 2>/dev/null)" = switch ]; then
    local __assume_out
    __assume_out="$(ASSUME_OUTPUT_SHELL={{SHELL}} command assume "$@")" || return
    eval "$__assume_out"
  else
    command assume "$@"
  fi
}
