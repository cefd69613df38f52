//! Request recording: a private HTTP proxy per TestEnv.
//!
//! Why not moto's own recorder (/moto-api/recorder/*)? It does work with moto_server (it logs
//! method, headers and base64 body of every request to MOTO_RECORDER_FILEPATH), but it is one
//! global switch per moto process, while tests run in parallel threads against the same moto:
//! a recording would also catch other tests' STS calls, and "the cache hit made no STS call"
//! could never be asserted reliably. So every TestEnv gets its own tiny std-only proxy on its own
//! port; the env's AWS_ENDPOINT_URL points at it, it records each request (method, path, headers,
//! body) *before* forwarding it verbatim to moto, and relays moto's response. Only requests made
//! with that TestEnv's environment are recorded, so no global lock is needed.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use serde_json::Value;

use super::IO_TIMEOUT;

//
// Why not moto's own recorder (/moto-api/recorder/*)? It does work with moto_server (it logs
// method, headers and base64 body of every request to MOTO_RECORDER_FILEPATH), but it is one
// global switch per moto process, while tests run in parallel threads against the same moto:
// a recording would also catch other tests' STS calls, and "the cache hit made no STS call"
// could never be asserted reliably. So every TestEnv gets its own tiny std-only proxy on its own
// port; the env's AWS_ENDPOINT_URL points at it, it records each request (method, path, headers,
// body) *before* forwarding it verbatim to moto, and relays moto's response. Only requests made
// with that TestEnv's environment are recorded, so no global lock is needed.

/// One HTTP request the proxy saw.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    #[allow(dead_code, reason = "shown in failure messages (Debug)")]
    pub method: String,
    #[allow(dead_code, reason = "shown in failure messages (Debug)")]
    pub path: String,
    /// In order, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Form-decoded parameters of one STS request: "Action", "Version", "RoleArn",
/// "RoleSessionName", "DurationSeconds", "ExternalId", "SerialNumber", "TokenCode", …
pub type StsCall = HashMap<String, String>;

impl RecordedRequest {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as `application/x-www-form-urlencoded` parameters (AWS query protocol). For a
    /// JSON-protocol request (`X-Amz-Target: Service.Action`), the top-level JSON members as
    /// strings plus "Action".
    pub fn params(&self) -> HashMap<String, String> {
        if let Some(target) = self.header("x-amz-target") {
            let mut map = HashMap::new();
            if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&self.body) {
                for (k, v) in obj {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    map.insert(k, v);
                }
            }
            let action = target.rsplit('.').next().unwrap_or(target);
            map.insert("Action".to_string(), action.to_string());
            return map;
        }
        form_decode(&String::from_utf8_lossy(&self.body))
    }

    /// The SigV4 credential scope fields from `Authorization`, if signed:
    /// (access key id, date, region, service).
    pub fn sigv4_scope(&self) -> Option<(String, String, String, String)> {
        let auth = self.header("authorization")?;
        let cred = auth.split("Credential=").nth(1)?;
        let cred = cred.split([',', ' ']).next()?;
        let mut parts = cred.split('/');
        let key = parts.next()?.to_string();
        let date = parts.next()?.to_string();
        let region = parts.next()?.to_string();
        let service = parts.next()?.to_string();
        Some((key, date, region, service))
    }

    /// The access key id that signed the request.
    pub fn access_key_id(&self) -> Option<String> {
        self.sigv4_scope().map(|(key, ..)| key)
    }

    /// The signing region.
    pub fn region(&self) -> Option<String> {
        self.sigv4_scope().map(|(_, _, region, _)| region)
    }

    /// Whether this is an STS request (signed for "sts", or STS's API version/target).
    pub fn is_sts(&self) -> bool {
        if let Some((.., service)) = self.sigv4_scope() {
            return service == "sts";
        }
        if self
            .header("x-amz-target")
            .is_some_and(|t| t.starts_with("AWSSecurityTokenService"))
        {
            return true;
        }
        self.params().get("Version").map(String::as_str) == Some("2011-06-15")
    }
}

/// The `Action` of each call, in order: `["GetSessionToken", "AssumeRole"]`.
pub fn actions(calls: &[StsCall]) -> Vec<&str> {
    calls.iter().map(|c| c["Action"].as_str()).collect()
}

/// `a=1&b=x%2By+z` → {"a": "1", "b": "x+y z"}.
pub fn form_decode(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) struct RecordingProxy {
    pub(super) port: u16,
    pub(super) requests: Arc<Mutex<Vec<RecordedRequest>>>,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl RecordingProxy {
    pub(super) fn start(upstream_port: u16) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the recording proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept_thread = {
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let requests = Arc::clone(&requests);
                    thread::spawn(move || {
                        // Errors just drop the connection; the client reports them.
                        let _ = proxy_one(conn, upstream_port, &requests);
                    });
                }
            })
        };
        RecordingProxy {
            port,
            requests,
            stop,
            accept_thread: Some(accept_thread),
        }
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept().
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One request per client connection: read it, record it, forward it to moto with
/// `Connection: close`, relay moto's whole response with `Connection: close`, close.
/// (Clients see `Connection: close` and open a new connection for the next request.)
fn proxy_one(
    client: TcpStream,
    upstream_port: u16,
    requests: &Mutex<Vec<RecordedRequest>>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client_w = client;

    // Request line + headers.
    let mut head_lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(()); // closed before a full request (e.g. the Drop wake-up)
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head_lines.push(line);
    }
    let Some(request_line) = head_lines.first().cloned() else {
        return Ok(());
    };
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = head_lines[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };

    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        client_w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }

    // Body: Content-Length or chunked. `raw` is forwarded as-is, `body` is recorded.
    let mut raw = Vec::new();
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            raw.extend_from_slice(size_line.as_bytes());
            let size_hex = size_line.trim().split(';').next().unwrap_or("0");
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size")
            })?;
            if size == 0 {
                // Trailers until an empty line.
                loop {
                    let mut t = String::new();
                    if reader.read_line(&mut t)? == 0 {
                        break;
                    }
                    raw.extend_from_slice(t.as_bytes());
                    if t.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size + 2]; // data + CRLF
            reader.read_exact(&mut chunk)?;
            raw.extend_from_slice(&chunk);
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body = vec![0; len];
        reader.read_exact(&mut body)?;
        raw.clone_from(&body);
    }

    lock(requests).push(RecordedRequest {
        method,
        path,
        headers: headers.clone(),
        body,
    });

    // Forward.
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
    upstream.set_read_timeout(Some(IO_TIMEOUT))?;
    upstream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut out = String::new();
    out.push_str(&request_line);
    out.push_str("\r\n");
    for (k, v) in &headers {
        if k.eq_ignore_ascii_case("connection") || k.eq_ignore_ascii_case("expect") {
            continue;
        }
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    upstream.write_all(out.as_bytes())?;
    upstream.write_all(&raw)?;
    upstream.flush()?;

    // Relay the whole response (moto closes after it because of Connection: close).
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    let response = with_connection_close(&response);
    client_w.write_all(&response)?;
    client_w.flush()?;
    let _ = client_w.shutdown(Shutdown::Both);
    Ok(())
}

/// Replaces any `Connection` header of an HTTP response with `Connection: close`.
fn with_connection_close(response: &[u8]) -> Vec<u8> {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response.to_vec();
    };
    let head = String::from_utf8_lossy(&response[..end]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        let is_connection = line
            .split_once(':')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection"));
        if !is_connection {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&response[end + 4..]);
    bytes
}
