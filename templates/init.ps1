# assume: shell integration for PowerShell. Add to $PROFILE:
#   assume init powershell | Out-String | Invoke-Expression
# Then `assume PROFILE` and `assume --unset` change this session's variables directly; every
# other command line runs as it is. Which is which, `assume __classify` decides with the same
# parser as the command itself, so no other output is ever evaluated.
function assume {
    $exe = Get-Command -CommandType Application assume | Select-Object -First 1
    $kind = & $exe __classify @args 2>$null
    if ($kind -ne 'switch') {
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
