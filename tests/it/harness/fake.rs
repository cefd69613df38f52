//! [`FakeServer`]: one small HTTP server on loopback for what moto cannot play — STS answers it
//! never gives (`ExpiredToken`, `Throttling`, garbage, credentials that do not hold), an
//! endpoint that never answers or is cut off, role sessions that live two minutes, and the
//! federation endpoint of the console sign-in ([`Federation`]). It records every request it
//! reads; its threads end with it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use super::{IO_TIMEOUT, form_decode, lock};

/// One request the fake server read.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub method: String,
    /// The request target: `/federation` or `/federation?…`.
    pub target: String,
    /// The request line and the header lines, as sent.
    pub head: String,
    pub body: String,
}

/// What [`Mode::With`] answers: status, content type, body.
pub type Reply = (u16, &'static str, String);

/// What the fake server does with each connection.
#[derive(Clone)]
pub enum Mode {
    /// Relay each request to this port (e.g. the TestEnv's recording proxy in front of moto)
    /// and the answer back.
    Forward(u16),
    /// Answer every request with this status, content type and body.
    Respond(u16, &'static str, String),
    /// Answer with this status and the request itself, headers and body, as the body (as an
    /// error page that quotes what it was sent would).
    Echo(u16),
    /// Answer with what the function makes of the request; it may block (every connection has
    /// a thread of its own).
    With(Arc<dyn Fn(&HttpRequest) -> Reply + Send + Sync>),
    /// Accept connections and never answer.
    Silent,
    /// Close every connection at once, unread: STS is unreachable there. The port stays the
    /// server's, so no other test's listener can take it over, which a closed port would allow.
    Close,
}

pub struct FakeServer {
    pub port: u16,
    mode: Arc<Mutex<Mode>>,
    stop: Arc<AtomicBool>,
    /// Connections held open by [`Mode::Silent`].
    held: Arc<Mutex<Vec<TcpStream>>>,
    requests: Arc<Mutex<Vec<HttpRequest>>>,
}

impl FakeServer {
    pub fn start(mode: Mode) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake server");
        let port = listener.local_addr().expect("fake server address").port();
        let server = FakeServer {
            port,
            mode: Arc::new(Mutex::new(mode)),
            stop: Arc::new(AtomicBool::new(false)),
            held: Arc::new(Mutex::new(Vec::new())),
            requests: Arc::new(Mutex::new(Vec::new())),
        };
        let (mode, stop, held, requests) = (
            Arc::clone(&server.mode),
            Arc::clone(&server.stop),
            Arc::clone(&server.held),
            Arc::clone(&server.requests),
        );
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let mode = lock(&mode).clone();
                match mode {
                    Mode::Silent => lock(&held).push(conn),
                    Mode::Close => {
                        let _ = conn.shutdown(Shutdown::Both);
                    }
                    _ => {
                        let requests = Arc::clone(&requests);
                        thread::spawn(move || {
                            // Errors just drop the connection; the client reports them.
                            let _ = serve_one(conn, &mode, &requests);
                        });
                    }
                }
            }
        });
        server
    }

    /// An STS error document with status 400.
    pub fn sts_error(code: &str, message: &str) -> FakeServer {
        FakeServer::start(Mode::Respond(
            400,
            "text/xml",
            sts_error_body(code, message),
        ))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What to do with the connections from now on.
    pub fn set(&self, mode: Mode) {
        *lock(&self.mode) = mode;
    }

    /// Every request read so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        lock(&self.requests).clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept().
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        lock(&self.held).clear();
    }
}

/// An STS error document (`<ErrorResponse>`) with this code and message.
pub fn sts_error_body(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>x</RequestId></ErrorResponse>"
    )
}

/// One request per connection: read it, record it, answer it as `mode` says, close.
fn serve_one(
    conn: TcpStream,
    mode: &Mode,
    requests: &Mutex<Vec<HttpRequest>>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut lines = Vec::new();
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line.trim_end().is_empty() {
            break;
        }
        head.push_str(&line);
        lines.push(line.trim_end().to_string());
    }
    let length = lines
        .iter()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut words = lines
        .first()
        .map(String::as_str)
        .unwrap_or_default()
        .split_whitespace();
    let request = HttpRequest {
        method: words.next().unwrap_or_default().to_string(),
        target: words.next().unwrap_or_default().to_string(),
        head,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    lock(requests).push(request.clone());
    let mut conn = conn;
    let reply = match mode {
        Mode::Respond(status, content_type, text) => Some((*status, *content_type, text.clone())),
        Mode::Echo(status) => Some((
            *status,
            "application/json",
            format!("You sent:\n{}\n{}", request.head, request.body),
        )),
        Mode::With(answer) => Some(answer(&request)),
        Mode::Forward(port) => {
            let mut upstream = TcpStream::connect(("127.0.0.1", *port))?;
            let mut out = String::new();
            for (i, line) in lines.iter().enumerate() {
                if i > 0 && line.to_ascii_lowercase().starts_with("connection:") {
                    continue;
                }
                out.push_str(line);
                out.push_str("\r\n");
            }
            out.push_str("Connection: close\r\n\r\n");
            upstream.write_all(out.as_bytes())?;
            upstream.write_all(&body)?;
            let mut response = Vec::new();
            upstream.read_to_end(&mut response)?;
            // The recording proxy already answers with `Connection: close`.
            conn.write_all(&response)?;
            None
        }
        Mode::Silent | Mode::Close => None,
    };
    if let Some((status, content_type, text)) = reply {
        let reason = if status == 200 { "OK" } else { "Error" };
        write!(
            conn,
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        )?;
    }
    conn.flush()?;
    let _ = conn.shutdown(Shutdown::Both);
    Ok(())
}

/// A port nothing listens on (connections are refused at once).
pub fn refused_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The federation endpoint (signin.aws.amazon.com/federation) of the console sign-in, played
/// on loopback; the product reaches it through `ASSUME_FEDERATION_ENDPOINT`.
pub struct Federation {
    /// `http://127.0.0.1:PORT/federation`, for `ASSUME_FEDERATION_ENDPOINT`.
    pub endpoint: String,
    server: FakeServer,
}

impl Federation {
    /// Answers every request with `status` and `body` (JSON).
    pub fn start(status: u16, body: &'static str) -> Federation {
        Federation::on(FakeServer::start(Mode::Respond(
            status,
            "application/json",
            body.to_string(),
        )))
    }

    /// Answers `status` with a body that repeats the whole request, headers and body.
    pub fn echo(status: u16) -> Federation {
        Federation::on(FakeServer::start(Mode::Echo(status)))
    }

    /// The signin server that answers `{"SigninToken":"tok-123"}`.
    pub fn ok() -> Federation {
        Federation::start(200, r#"{"SigninToken":"tok-123"}"#)
    }

    fn on(server: FakeServer) -> Federation {
        Federation {
            endpoint: format!("{}/federation", server.endpoint()),
            server,
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.server.requests()
    }
}

/// The query parameters of a URL or request target (after the first `?`), decoded.
pub fn query(url: &str) -> HashMap<String, String> {
    url.split_once('?')
        .map(|(_, q)| form_decode(q))
        .unwrap_or_default()
}
