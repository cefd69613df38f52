# assume: shell integration for PowerShell. Add to $PROFILE:
#   assume init powershell | Out-String | Invoke-Expression
# Then `assume PROFILE` and `assume --unset` change this session's variables directly; every
# other subcommand runs as it is.
function assume {
    $exe = Get-Command -CommandType Application assume | Select-Object -First 1
    if ($args.Count -gt 0 -and @({{SUBCOMMANDS}}, '-h', '--help', '-V', '--version') -contains $args[0]) {
        & $exe @args
        return
    }
    $env:ASSUME_OUTPUT_SHELL = 'powershell'
    try {
        $out = & $exe @args | Out-String
    } finally {
        Remove-Item -Path Env:ASSUME_OUTPUT_SHELL -ErrorAction SilentlyContinue
    }
    if ($LASTEXITCODE -ne 0) { return }
    Invoke-Expression $out
}
