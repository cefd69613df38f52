//! `assume shell PROFILE`: a subshell with the role's variables; exiting it is "switch back".

use crate::harness::{
    self, STALE, WAIT, assert_role_variables, assert_success, parse_env0, plain_cx, sh_quote,
    stderr, stdout,
};

/// In a real terminal: the subshell is the role; `exit` is "switch back" (the outer shell never
/// had the variables).
#[test]
fn shell_in_a_terminal_and_exit_switches_back() {
    let cx = plain_cx();
    let env = &cx.env;
    let aws = harness::venv_bin("aws");
    let tmux = env.tmux(
        "bash -c 'SHELL=/bin/bash assume shell admin --token-code 123456; echo back-$?; \
         echo outer-key=${AWS_ACCESS_KEY_ID-unset}'",
    );
    tmux.wait_for("expire", WAIT);
    tmux.send_line(&format!(
        "AWS_PAGER= {} sts get-caller-identity --query Arn --output text",
        aws.display()
    ));
    tmux.wait_for(":assumed-role/Administrators/", WAIT);
    tmux.send_line("echo \"shell=[$ASSUME_SHELL] profile=[$ASSUME_PROFILE]\"");
    tmux.wait_for("shell=[admin] profile=[admin]", WAIT);
    tmux.send_line("exit");
    let screen = tmux.wait_for("outer-key=", WAIT);
    assert!(screen.contains("back-0"), "{screen}");
    assert!(screen.contains("outer-key=unset"), "{screen}");
    assert_eq!(tmux.wait_exit(WAIT), 0, "{screen}");
}

/// `--shell-path` wins over `$SHELL`; the subshell has every variable of the role plus
/// `ASSUME_SHELL`, and none of the stale ones; the expiry is said on stderr.
#[test]
fn shell_path_and_the_subshells_environment() {
    let cx = plain_cx();
    let env = &cx.env;
    let dump = env.root().join("shell.env");
    let out = env
        .cmd()
        .args([
            "shell",
            "admin",
            "--token-code",
            "123456",
            "--shell-path",
            "/bin/sh",
        ])
        .env("SHELL", "/bin/false")
        .envs(STALE)
        .write_stdin(format!(
            "env -0 > {}\necho subshell-ran\n",
            sh_quote(&dump.display().to_string())
        ))
        .output()
        .unwrap();
    assert_success("assume shell admin --shell-path /bin/sh", &out);
    assert!(stdout(&out).contains("subshell-ran"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("expire"),
        "nothing on stderr says when the credentials expire: {}",
        stderr(&out)
    );
    let vars = parse_env0(&std::fs::read(&dump).unwrap());
    assert_role_variables(&vars, "admin", "assume shell admin");
    assert_eq!(vars["ASSUME_SHELL"], "admin");
    assert_ne!(vars["AWS_SECRET_ACCESS_KEY"], "stale-secret");
}

/// A shell inside an assume shell: a warning, the new role's credentials inside, the outer
/// role's again after the inner one exits.
#[test]
fn shell_inside_a_shell_warns_and_replaces_the_credentials() {
    let cx = plain_cx();
    let env = &cx.env;
    let inner_err = env.root().join("inner.err");
    let script = format!(
        "echo \"outer=$AWS_ACCESS_KEY_ID shell=$ASSUME_SHELL\"\n\
         echo 'echo \"inner=$AWS_ACCESS_KEY_ID shell=$ASSUME_SHELL profile=$ASSUME_PROFILE\"' \
         | assume shell readonly --token-code 123456 2>{}\n\
         echo \"after=$AWS_ACCESS_KEY_ID shell=$ASSUME_SHELL\"\n",
        sh_quote(&inner_err.display().to_string())
    );
    let out = env
        .cmd()
        .args(["shell", "admin", "--token-code", "123456"])
        .env("SHELL", "/bin/sh")
        .write_stdin(script)
        .output()
        .unwrap();
    assert_success("assume shell admin (with a nested assume shell)", &out);
    let text = stdout(&out);
    let field = |prefix: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no line {prefix}…: {text}\nstderr: {}", stderr(&out)))
            .to_string()
    };
    let outer = field("outer=");
    let inner = field("inner=");
    let after = field("after=");
    let (outer_key, outer_rest) = outer.split_once(' ').unwrap();
    let (inner_key, inner_rest) = inner.split_once(' ').unwrap();
    assert!(outer_key.starts_with("ASIA"), "{text}");
    assert_eq!(outer_rest, "shell=admin", "{text}");
    assert!(inner_key.starts_with("ASIA"), "{text}");
    assert_ne!(
        inner_key, outer_key,
        "the inner shell kept the outer role's credentials"
    );
    assert_eq!(inner_rest, "shell=readonly profile=readonly", "{text}");
    assert_eq!(
        after, outer,
        "leaving the inner shell did not return to the outer role"
    );
    let warning = std::fs::read_to_string(&inner_err).unwrap();
    assert!(
        warning.contains("already"),
        "no warning about the shell already being an assume shell: {warning}"
    );
}
