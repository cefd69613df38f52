# assume: shell integration for {{SHELL}}. Add to {{RC}}:
#   eval "$(assume init {{SHELL}})"
# Then `assume PROFILE` and `assume --unset` change this shell's variables directly; every
# other subcommand runs as it is.
assume() {
  case "${1-}" in
    {{SUBCOMMANDS}} | -h | --help | -V | --version)
      command assume "$@"
      ;;
    *)
      local __assume_out
      __assume_out="$(ASSUME_OUTPUT_SHELL={{SHELL}} command assume "$@")" || return
      eval "$__assume_out"
      ;;
  esac
}
