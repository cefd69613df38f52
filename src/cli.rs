//! The command line, as clap derives it. Doc comments here are the help text.

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use crate::handoff::shell::Shell;

/// Assume AWS roles from a terminal: reads your ~/.aws/config profiles, asks for the MFA code,
/// calls STS AssumeRole and prints the credentials as shell exports.
#[derive(Debug, Parser)]
#[command(
    name = "assume",
    version,
    after_help = "Examples:\n  eval \"$(assume admin)\"      switch this shell to the role of profile admin\n  eval \"$(assume --unset)\"    switch back\n  assume explain admin        show what `assume admin` would do, without calling AWS"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub assume: AssumeArgs,

    /// Say what happens at each step, on stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command with the role's credentials in its environment; exits with its status.
    #[command(
        after_help = "Examples:\n  assume exec admin -- aws s3 ls\n  AWS_PROFILE=admin assume exec -- terraform plan\n  assume exec --server admin -- terraform apply    (refreshed for as long as it runs)"
    )]
    Exec(ExecArgs),
    /// Serve the role's credentials on a local endpoint (the AWS container-credentials
    /// protocol) until Ctrl-C, refreshing them as they run low; prints the two variables a
    /// client needs.
    #[command(
        after_help = "Example:\n  assume serve admin        then, in other terminals, the two printed variables"
    )]
    Serve(ServeArgs),
    /// Show who the credentials in this environment are (GetCallerIdentity), the profile
    /// `assume` set, and the time they have left.
    #[command(after_help = "Examples:\n  assume whoami\n  assume whoami --output json")]
    Whoami(WhoamiArgs),
    /// Sign in to the AWS console as the role: opens the browser, or prints the URL.
    #[command(
        after_help = "Examples:\n  assume console admin\n  assume console admin --print\n  assume console admin --destination https://console.aws.amazon.com/s3/home"
    )]
    Console(ConsoleArgs),
    /// Start a shell with the role's credentials; exit it to switch back.
    #[command(after_help = "Example:\n  assume shell admin")]
    Shell(ShellArgs),
    /// Print a shell function so that `assume PROFILE` sets the variables in the shell itself.
    #[command(
        after_help = "Examples (in the shell's rc file):\n  eval \"$(assume init bash)\"\n  eval \"$(assume init zsh)\"\n  assume init fish | source\n  assume init powershell | Out-String | Invoke-Expression"
    )]
    Init(InitArgs),
    /// Print the shell completion script (profile names complete from your config files).
    #[command(
        after_help = "Examples:\n  assume completions bash > ~/.local/share/bash-completion/completions/assume\n  assume completions fish > ~/.config/fish/completions/assume.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff); `man/assume.1` is exactly this.
    #[command(hide = true)]
    Man,
    /// Print the role's credentials as `credential_process` JSON, for another profile's
    /// `credential_process = assume credential-process PROFILE`.
    #[command(
        after_help = "Example, in ~/.aws/config:\n  [profile admin-auto]\n  credential_process = assume credential-process admin"
    )]
    CredentialProcess(CredentialArgs),
    /// Forget cached credentials: a profile's, every role's, or with --all also the MFA sessions.
    #[command(
        after_help = "Examples:\n  assume clear admin     forget admin's credentials\n  assume clear --all     forget everything, MFA sessions too"
    )]
    Clear(ClearArgs),
    /// List the profiles: role, account, region, whether MFA is needed, and until when
    /// credentials are cached.
    #[command(after_help = "Examples:\n  assume list\n  assume list --output json")]
    List(ListArgs),
    /// Show the chain a profile resolves to (base credentials, each role hop, MFA, region)
    /// without calling AWS.
    #[command(
        after_help = "Examples:\n  assume explain admin\n  assume explain admin --output json"
    )]
    Explain(ExplainArgs),
    /// Keep IAM users' long-term access keys in the OS keyring (or an encrypted file) instead
    /// of ~/.aws/credentials: add, import, list, remove, rotate.
    #[command(
        after_help = "Examples:\n  assume keys add alice\n  assume keys import --yes\n  assume keys list\n  assume keys rotate alice\n  assume keys remove alice"
    )]
    Keys(KeysArgs),
}

#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Store a profile's access key id and secret (asked on the terminal, or --env).
    #[command(
        after_help = "Examples:\n  assume keys add alice\n  assume keys add alice --env --add-config"
    )]
    Add(KeysAddArgs),
    /// Move the static keys of the credentials and config files into the vault, removing
    /// them from the files.
    #[command(after_help = "Examples:\n  assume keys import alice\n  assume keys import --yes")]
    Import(KeysImportArgs),
    /// The profiles whose keys are in the vault: access key id, store, when added or
    /// rotated (never a secret).
    #[command(after_help = "Examples:\n  assume keys list\n  assume keys list --output json")]
    List(KeysListArgs),
    /// Forget a profile's keys, and the MFA sessions and role credentials cached from them.
    #[command(after_help = "Example:\n  assume keys remove alice")]
    Remove(KeysRemoveArgs),
    /// Replace a profile's access key through IAM (create, check, store, delete the old one).
    #[command(after_help = "Example:\n  assume keys rotate alice")]
    Rotate(KeysRotateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct KeysAddArgs {
    /// The profile the keys are for (its name in ~/.aws/config).
    #[arg(value_name = "PROFILE")]
    pub profile: String,

    /// Take the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)
    /// instead of asking.
    #[arg(long)]
    pub env: bool,

    /// Add `credential_process = assume credential-process PROFILE` to the profile in the
    /// config file, so that other tools and the AWS SDKs find the keys.
    #[arg(long)]
    pub add_config: bool,
}

#[derive(Debug, Clone, Args)]
pub struct KeysImportArgs {
    /// The profiles to import [default: every profile with static keys, after a confirmation].
    #[arg(value_name = "PROFILE")]
    pub profiles: Vec<String>,

    /// Import every profile with static keys without asking.
    #[arg(long)]
    pub yes: bool,

    /// Add `credential_process = assume credential-process PROFILE` to each imported profile
    /// in the config file.
    #[arg(long)]
    pub add_config: bool,
}

#[derive(Debug, Clone, Args)]
pub struct KeysListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Clone, Args)]
pub struct KeysRemoveArgs {
    /// The profile whose keys to forget.
    #[arg(value_name = "PROFILE")]
    pub profile: String,
}

#[derive(Debug, Clone, Args)]
pub struct KeysRotateArgs {
    /// The profile whose key to rotate.
    #[arg(value_name = "PROFILE")]
    pub profile: String,

    /// The MFA code, when the user's policy demands MFA for IAM calls.
    #[arg(long, value_name = "CODE")]
    pub token_code: Option<String>,
}

/// Which profile: `assume NAME` or `assume --profile NAME`.
#[derive(Debug, Clone, Default, Args)]
pub struct ProfileArg {
    /// The profile in ~/.aws/config [default: $AWS_PROFILE, $AWS_DEFAULT_PROFILE, "default"].
    #[arg(value_name = "PROFILE", add = ArgValueCompleter::new(complete_profiles))]
    pub name: Option<String>,

    /// The profile, for names that are also subcommands (`assume --profile explain`).
    #[arg(
        short = 'p',
        long = "profile",
        value_name = "NAME",
        conflicts_with = "name",
        add = ArgValueCompleter::new(complete_profiles)
    )]
    pub flag: Option<String>,
}

/// Profile names from the config files, for shell completion.
fn complete_profiles(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    crate::config::Loaded::load(&crate::config::Env::real())
        .map(|loaded| {
            loaded
                .profiles
                .profiles
                .keys()
                .filter(|name| name.starts_with(prefix.as_ref()))
                .map(CompletionCandidate::new)
                .collect()
        })
        .unwrap_or_default()
}

impl ProfileArg {
    pub fn get(&self) -> Option<&str> {
        self.flag.as_deref().or(self.name.as_deref())
    }
}

/// Options of every command that computes a chain.
#[derive(Debug, Clone, Default, Args)]
pub struct ChainArgs {
    /// Session length for the role, e.g. 1h, 90m, 900s or 3600 [default: the profile's
    /// duration_seconds, else 1h].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<u32>,

    /// AWS region [default: the profile's region, $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

/// Options of every command that obtains credentials.
#[derive(Debug, Clone, Default, Args)]
pub struct CredentialArgs {
    #[command(flatten)]
    pub profile: ProfileArg,

    #[command(flatten)]
    pub chain: ChainArgs,

    /// The MFA code, instead of a prompt on the terminal.
    #[arg(long, value_name = "CODE")]
    pub token_code: Option<String>,

    /// Reuse cached credentials only while they live longer than this (which must be shorter
    /// than the session) [default: 5m; env: ASSUME_MIN_TTL].
    // Not clap's `env`: an error about the value has to say whether it came from the flag or
    // from ASSUME_MIN_TTL (`commands::source` reads the variable).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub min_ttl: Option<u32>,

    /// Read and write no cached credentials.
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct AssumeArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// Shell to print code for [default: the calling shell when it is fish, PowerShell or nu;
    /// else POSIX sh syntax].
    #[arg(
        long,
        value_enum,
        value_name = "SHELL",
        env = "ASSUME_OUTPUT_SHELL",
        hide_env = true
    )]
    pub shell: Option<Shell>,

    /// Print code that removes what `assume` exported ("switch back").
    #[arg(long)]
    pub unset: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// Give the command a local credential endpoint instead of keys, so that its AWS SDKs
    /// fetch fresh credentials whenever theirs run low (for work that outlives a session).
    #[arg(long)]
    pub server: bool,

    /// The command and its arguments, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// Shell to print the variables for [default: the calling shell when it is fish,
    /// PowerShell or nu; else POSIX sh syntax].
    #[arg(long, value_enum, value_name = "SHELL")]
    pub shell: Option<Shell>,
}

#[derive(Debug, Clone, Args)]
pub struct ShellArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// The shell to start [default: $SHELL].
    #[arg(long, value_name = "PATH")]
    pub shell_path: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    #[arg(value_enum)]
    pub shell: InitShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitShell {
    Bash,
    Zsh,
    Fish,
    #[value(alias = "pwsh")]
    Powershell,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    #[value(alias = "pwsh")]
    Powershell,
    Elvish,
}

#[derive(Debug, Clone, Args)]
pub struct ClearArgs {
    /// The profile whose credentials to forget [default: every role's].
    #[arg(value_name = "PROFILE")]
    pub profile: Option<String>,

    /// Also forget MFA sessions (of that profile's chain, or all of them).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub print: bool,

    /// The console page to land on [default: the console home in the profile's region].
    #[arg(long, value_name = "URL")]
    pub destination: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct WhoamiArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Output format [default: a table on a terminal, JSON otherwise].
    #[arg(long, value_enum)]
    pub output: Option<Output>,
}

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub profile: ProfileArg,

    #[command(flatten)]
    pub chain: ChainArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// `1h`, `90m`, `900s`, `1h30m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<u32, String> {
    crate::config::parse_human_seconds(text)
        .ok_or_else(|| format!("'{text}' is not a duration; try 1h, 90m or 900s"))
}

/// A clap error as one line: its message and details, without the usage block.
pub fn one_line(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let mut parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty())
        .collect();
    if let Some(first) = parts.first_mut() {
        *first = first.trim_start_matches("error:").trim();
    }
    format!("{}; see `assume --help`", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("900s"), Ok(900));
        assert_eq!(parse_duration("1200"), Ok(1200));
        assert!(parse_duration("soon").is_err());
    }
}
