# assume: shell integration for fish. Add to ~/.config/fish/config.fish:
#   assume init fish | source
# Then `assume PROFILE` and `assume --unset` change this shell's variables directly; every
# other command line runs as it is. Which is which, `assume __classify` decides with the same
# parser as the command itself, so no other output is ever sourced.
function assume --description 'Assume an AWS role in this shell'
    set -l __assume_kind (command assume __classify $argv 2>/dev/null)
    if test "$__assume_kind" != switch
        command assume $argv
        return
    end
    # On failure assume prints nothing to stdout, so nothing is sourced.
    ASSUME_OUTPUT_SHELL=fish command assume $argv | source
    set -l __assume_status $pipestatus
    test $__assume_status[1] -eq 0; or return $__assume_status[1]
    return $__assume_status[2]
end
