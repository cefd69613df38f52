# assume: shell integration for fish. Add to ~/.config/fish/config.fish:
#   assume init fish | source
# Then `assume PROFILE` and `assume --unset` change this shell's variables directly; every
# other subcommand runs as it is.
function assume --description 'Assume an AWS role in this shell'
    switch "$argv[1]"
        case {{SUBCOMMANDS}} -h --help -V --version
            command assume $argv
        case '*'
            # On failure assume prints nothing to stdout, so nothing is sourced.
            ASSUME_OUTPUT_SHELL=fish command assume $argv | source
            set -l __assume_status $pipestatus
            test $__assume_status[1] -eq 0; or return $__assume_status[1]
            return $__assume_status[2]
    end
end
