# assume: shell integration for fish. Add to ~/.config/fish/config.fish:
#   assume init fish | source
# Then `assume PROFILE` and `assume --unset` change this shell's variables directly; every
# other subcommand runs as it is.
function assume --description 'Assume an AWS role in this shell'
    switch "$argv[1]"
        case {{SUBCOMMANDS}} -h --help -V --version
            command assume $argv
        case '*'
            set -l __assume_out (ASSUME_OUTPUT_SHELL=fish command assume $argv)
            set -l __assume_status $status
            test $__assume_status -eq 0; or return $__assume_status
            printf '%s\n' $__assume_out | source
    end
end
