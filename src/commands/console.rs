//! `assume console [PROFILE]`: the console's "Switch Role" in the browser. The role's
//! credentials are exchanged at the AWS federation endpoint for a sign-in token, which makes
//! a login URL for the partition's console.
//!
//! The secret key goes in a POST body, never in a URL (GovCloud's endpoint is asked with GET:
//! it is not known to take the POST); an error shows the status, never the answer, which may
//! quote the request. The login URL (a live sign-in) never reaches the browser opener's argv,
//! which every local user can read: the browser gets a one-shot local URL that `assume`
//! answers, once, with a redirect to it.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;
use zeroize::Zeroizing;

use crate::cli::ConsoleArgs;
use crate::config::{Env, Plan};
use crate::error::{Error, Result};

/// How long `console` waits for the browser to fetch the one-shot URL.
const BROWSER_WAIT: Duration = Duration::from_secs(120);
/// How long one connection to the one-shot server may take to send its whole request head.
const REQUEST_WAIT: Duration = Duration::from_secs(5);
/// The most of a request that is read: its request line and headers.
const REQUEST_LIMIT: usize = 8 * 1024;
/// The most connections answered at once; more are closed unanswered.
const CONNECTIONS: usize = 16;

/// The federation endpoint and the console of each partition.
fn partition_urls(partition: &str) -> (&'static str, &'static str) {
    match partition {
        "aws-us-gov" => (
            "https://signin.amazonaws-us-gov.com/federation",
            "https://console.amazonaws-us-gov.com",
        ),
        "aws-cn" => (
            "https://signin.amazonaws.cn/federation",
            "https://console.amazonaws.cn",
        ),
        _ => (
            "https://signin.aws.amazon.com/federation",
            "https://console.aws.amazon.com",
        ),
    }
}

fn partition(plan: &Plan) -> &str {
    plan.hops
        .last()
        .and_then(|hop| hop.role_arn.split(':').nth(1))
        .unwrap_or("aws")
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

pub fn run(args: ConsoleArgs, env: &Env) -> Result<()> {
    let role = super::role(args.credentials, env, "console PROFILE")?;
    let (plan, credentials) = (&role.plan, &role.credentials);
    let Some(session_token) = credentials.session_token() else {
        return Err(Error::Usage(format!(
            "profile '{}' has long-term keys, and the console sign-in needs a role's temporary credentials: use a role profile",
            plan.profile
        )));
    };
    let partition = partition(plan);
    let (signin, console) = partition_urls(partition);
    let endpoint = env
        .get("ASSUME_FEDERATION_ENDPOINT")
        .unwrap_or_else(|| signin.to_string());
    let destination = args
        .destination
        .clone()
        .unwrap_or_else(|| format!("{console}/console/home?region={}", plan.region));
    let session = Zeroizing::new(
        json!({
            "sessionId": credentials.access_key_id(),
            "sessionKey": credentials.secret_access_key(),
            "sessionToken": session_token,
        })
        .to_string(),
    );
    let method = if partition == "aws-us-gov" {
        Method::Get
    } else {
        Method::Post
    };
    let token = signin_token(&endpoint, &session, method)?;
    let url = Zeroizing::new(format!(
        "{endpoint}?Action=login&Issuer=assume&Destination={}&SigninToken={}",
        encode(&destination),
        encode(&token)
    ));
    if args.print {
        return super::emit(&Zeroizing::new(format!("{}\n", url.as_str())));
    }
    open_in_browser(url, &plan.profile)
}

/// How getSigninToken is asked.
#[derive(Clone, Copy)]
enum Method {
    /// A form body: the secret stays out of the URL.
    Post,
    /// `?Action=getSigninToken&Session=…`, for an endpoint that takes only that.
    Get,
}

/// getSigninToken with the Session JSON → the `SigninToken` of the answer.
fn signin_token(endpoint: &str, session: &str, method: Method) -> Result<Zeroizing<String>> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(15)))
        .http_status_as_error(false)
        .build()
        .into();
    let failed = |why: String| {
        Error::Sts(format!(
            "the federation endpoint {endpoint} {why}; check the network, or ASSUME_FEDERATION_ENDPOINT"
        ))
    };
    let sent = match method {
        Method::Post => {
            let body = Zeroizing::new(
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("Action", "getSigninToken")
                    .append_pair("Session", session)
                    .finish(),
            );
            agent
                .post(endpoint)
                .content_type("application/x-www-form-urlencoded")
                .send(body.as_bytes())
        }
        Method::Get => agent
            .get(endpoint)
            .query("Action", "getSigninToken")
            .query("Session", session)
            .call(),
    };
    let mut response = sent.map_err(|e| failed(format!("cannot be reached ({})", describe(&e))))?;
    let status = response.status();
    // The body of an error may quote the request, Session and all: it is never shown.
    if !status.is_success() {
        return Err(failed(format!("answered {status}")));
    }
    let body = Zeroizing::new(
        response
            .body_mut()
            .read_to_string()
            .map_err(|e| failed(format!("sent an unreadable answer ({})", describe(&e))))?,
    );
    serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|value| value["SigninToken"].as_str().map(str::to_string))
        .map(Zeroizing::new)
        .ok_or_else(|| failed("answered without a SigninToken".into()))
}

/// A ureq error in words, without the request's URI (which, for a GET, holds the Session).
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::BadUri(_) => "its URL is not valid".into(),
        ureq::Error::RequireHttpsOnly(_) => "it is not https".into(),
        other => other.to_string(),
    }
}

/// Opens the browser on a one-shot local URL that redirects to `login`, and waits (up to
/// [`BROWSER_WAIT`]) until the browser has fetched it.
fn open_in_browser(login: Zeroizing<String>, profile: &str) -> Result<()> {
    let cannot = |why: String| {
        Error::Internal(format!(
            "{why}; run `assume console {profile} --print` and open the URL yourself"
        ))
    };
    let one_shot =
        OneShot::start(login).map_err(|e| cannot(format!("cannot listen on 127.0.0.1 ({e})")))?;
    open::that_detached(&one_shot.url)
        .map_err(|e| cannot(format!("cannot open a browser ({e})")))?;
    let minutes = BROWSER_WAIT.as_secs() / 60;
    crate::say!("waiting for your browser to open the sign-in link (up to {minutes} min)…");
    if one_shot.served.recv_timeout(BROWSER_WAIT).is_err() {
        return Err(cannot(format!(
            "the browser did not open the sign-in link within {minutes} min"
        )));
    }
    crate::say!("opened the AWS console as '{profile}' in your browser");
    Ok(())
}

/// `http://127.0.0.1:PORT/<32 random bytes in hex>`, served on a thread of its own: the first
/// GET of exactly that path is answered `303 See Other` to the login URL, anything else 404.
/// The server ends with `assume`, which ends once the redirect is sent.
struct OneShot {
    url: String,
    /// Gets one message when the redirect has been sent.
    served: mpsc::Receiver<()>,
}

/// What the connections of a [`OneShot`] share.
struct Target {
    path: Zeroizing<String>,
    location: Zeroizing<String>,
    spent: AtomicBool,
    connections: AtomicUsize,
}

impl OneShot {
    fn start(location: Zeroizing<String>) -> std::io::Result<OneShot> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(std::io::Error::other)?;
        let path: Zeroizing<String> = Zeroizing::new(
            std::iter::once("/".to_string())
                .chain(bytes.iter().map(|b| format!("{b:02x}")))
                .collect(),
        );
        let url = format!("http://127.0.0.1:{port}{}", path.as_str());
        let target = Arc::new(Target {
            path,
            location,
            spent: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
        });
        let (report, served) = mpsc::channel();
        std::thread::Builder::new()
            .name("console-one-shot".into())
            .spawn(move || accept(&listener, &target, &report))?;
        Ok(OneShot { url, served })
    }
}

fn accept(listener: &TcpListener, target: &Arc<Target>, report: &mpsc::Sender<()>) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        if target.connections.fetch_add(1, Ordering::SeqCst) >= CONNECTIONS {
            target.connections.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let (shared, report) = (Arc::clone(target), report.clone());
        let spawned = std::thread::Builder::new().spawn(move || {
            answer(conn, &shared, &report);
            shared.connections.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            // Closed unanswered, with the closure that held it.
            target.connections.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn answer(mut conn: TcpStream, target: &Target, report: &mpsc::Sender<()>) {
    let _ = conn.set_read_timeout(Some(REQUEST_WAIT));
    let _ = conn.set_write_timeout(Some(REQUEST_WAIT));
    let Some(request_line) = read_head(&mut conn) else {
        return;
    };
    let mut words = request_line.split(' ');
    let hit = words.next() == Some("GET")
        && words
            .next()
            .is_some_and(|path| same(path.as_bytes(), target.path.as_bytes()))
        && !target.spent.swap(true, Ordering::SeqCst);
    if hit {
        let response = Zeroizing::new(format!(
            "HTTP/1.1 303 See Other\r\nLocation: {}\r\nCache-Control: no-store\r\n\
             Referrer-Policy: no-referrer\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            target.location.as_str()
        ));
        if conn.write_all(response.as_bytes()).is_ok() && conn.flush().is_ok() {
            let _ = conn.shutdown(std::net::Shutdown::Write);
            let _ = report.send(());
        }
    } else {
        let _ = conn
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
}

/// The request line, once the whole head (up to [`REQUEST_LIMIT`]) is read, so that closing
/// the connection leaves nothing unread (which would reset it, answer and all).
fn read_head(conn: &mut TcpStream) -> Option<String> {
    // One deadline for the whole head: a client that trickles a byte at a time holds its
    // place no longer than one that sends nothing.
    let deadline = std::time::Instant::now() + REQUEST_WAIT;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = deadline.checked_duration_since(std::time::Instant::now())?;
        conn.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        let n = conn.read(&mut chunk).ok().filter(|n| *n > 0)?;
        head.extend_from_slice(&chunk[..n]);
        if head.len() > REQUEST_LIMIT {
            return None;
        }
    }
    let line_end = head.windows(2).position(|w| w == b"\r\n")?;
    String::from_utf8(head[..line_end].to_vec()).ok()
}

/// Equality that takes as long whatever the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_compares_bytes() {
        assert!(same(b"/abc", b"/abc"));
        assert!(!same(b"/abc", b"/abd"));
        assert!(!same(b"/abc", b"/abcd"));
        assert!(!same(b"", b"/"));
    }
}
