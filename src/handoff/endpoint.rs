//! A local credential endpoint in the AWS container-credentials format, so that SDKs and the
//! aws CLI fetch fresh role credentials whenever theirs run low: loopback only, one random
//! token per run, GET on one path. No client without the token can crash it, grow it or stall
//! the others: headers are small and timed, bodies are never read, connections are capped.
//!
//! The HTTP side runs on a tokio runtime of its own thread. Credentials come from the thread
//! that calls [`Server::serve`] (it owns the [`Source`], whose refresh blocks and may prompt):
//! one refresh at a time, while the runtime goes on accepting and timing out connections.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use zeroize::Zeroizing;

use crate::credentials::Source;
use crate::error::{Error, Result, exit};

/// The one path credentials are served on.
const PATH: &str = "/credentials";
/// The request line and headers together (a credential request takes a few hundred bytes);
/// past this the answer is 431 and the connection closes.
const MAX_HEADER_BYTES: usize = 8 * 1024;
const MAX_HEADERS: usize = 32;
/// A request's headers must arrive within this, from when the server starts reading them.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection on which nothing moves for this long is closed (unless its request is
/// waiting for a refresh).
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections open at once, at most; a quarter of the file descriptors `assume` may open
/// when that is less. The connection idle the longest makes room for a new one.
const MAX_CONNECTIONS: usize = 128;

pub struct Server {
    pub uri: String,
    token: Arc<Zeroizing<String>>,
    events: mpsc::Receiver<Event>,
    sender: mpsc::Sender<Event>,
    runtime: tokio::runtime::Handle,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What the HTTP side asks of the thread in [`Server::serve`].
enum Event {
    /// An authorized request: credentials, please.
    Credentials(oneshot::Sender<Answer>),
    /// [`Stopper::stop`] was called with this code.
    Stop(u8),
}

struct Answer {
    status: StatusCode,
    body: Zeroizing<String>,
}

/// Ends [`Server::serve`] from any thread or task.
#[derive(Clone)]
pub struct Stopper(mpsc::Sender<Event>);

impl Stopper {
    /// [`Server::serve`] returns `code`.
    pub fn stop(&self, code: u8) {
        let _ = self.0.send(Event::Stop(code));
    }
}

impl Server {
    /// Binds 127.0.0.1 on a free port, with a new random token, and starts answering.
    pub fn start() -> Result<Server> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
            .map_err(|e| Error::Internal(format!("cannot listen on 127.0.0.1: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::Internal(format!("the endpoint has no TCP port: {e}")))?
            .port();
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut())
            .map_err(|e| Error::Internal(format!("no randomness for the token: {e}")))?;
        let token = Arc::new(Zeroizing::new(
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        ));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (sender, events) = mpsc::channel();
        let (shutdown, stopped) = oneshot::channel();
        let shared = Arc::new(Shared {
            token: Arc::clone(&token),
            events: sender.clone(),
        });
        let thread = std::thread::Builder::new()
            .name("credential-endpoint".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let accept = async move {
                        match TcpListener::from_std(listener) {
                            Ok(listener) => accept_loop(listener, shared).await,
                            // The child's task still runs, and ends `serve` when it exits.
                            Err(e) => {
                                crate::say!("the credential endpoint cannot listen: {e}")
                            }
                        }
                        std::future::pending::<()>().await;
                    };
                    tokio::select! {
                        () = accept => {}
                        _ = stopped => {}
                    }
                });
            })
            .map_err(|e| Error::Internal(format!("cannot start the endpoint's thread: {e}")))?;
        Ok(Server {
            uri: format!("http://127.0.0.1:{port}{PATH}"),
            token,
            events,
            sender,
            runtime: handle,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The two variables a client needs.
    pub fn variables(&self) -> [(&'static str, &str); 2] {
        [
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &self.uri),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", self.token.as_str()),
        ]
    }

    /// The endpoint's runtime, for tasks that live as long as it (a child to wait for).
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    pub fn stopper(&self) -> Stopper {
        Stopper(self.sender.clone())
    }

    /// Hands out credentials, one refresh at a time, until [`Stopper::stop`]; returns its code.
    pub fn serve(&self, source: &mut Source) -> u8 {
        loop {
            match self.events.recv() {
                Ok(Event::Credentials(reply)) => {
                    let answer = match source.credentials() {
                        Ok(credentials) => Answer {
                            status: StatusCode::OK,
                            body: credentials_body(&credentials),
                        },
                        Err(e) => {
                            crate::say!("the credential endpoint could not refresh: {e}");
                            Answer {
                                status: StatusCode::INTERNAL_SERVER_ERROR,
                                body: error_body("RefreshFailed", &e.to_string()),
                            }
                        }
                    };
                    // The client may have gone meanwhile; nothing to do then.
                    let _ = reply.send(answer);
                }
                Ok(Event::Stop(code)) => return code,
                // `self.sender` keeps the channel open: not reached.
                Err(_) => return exit::INTERNAL,
            }
        }
    }
}

impl Drop for Server {
    /// Closes the port and every connection.
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What every connection's task needs.
struct Shared {
    token: Arc<Zeroizing<String>>,
    events: mpsc::Sender<Event>,
}

/// One open connection, as the accept loop sees it.
struct Tracked {
    /// Milliseconds since `epoch` when a byte last moved.
    last: AtomicU64,
    /// Its request is waiting for credentials: neither idle nor to be evicted.
    busy: AtomicBool,
    close: Notify,
    epoch: Instant,
    /// When it was accepted: a connection younger than [`GRACE`] is evicted only when every
    /// other one is, so that a caller just connected gets to send its request.
    born: Instant,
}

/// See [`Tracked::born`].
const GRACE: Duration = Duration::from_secs(1);

impl Tracked {
    fn touch(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last)
    }
}

type Connections = Arc<Mutex<HashMap<u64, Arc<Tracked>>>>;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Accepts until the runtime stops. Errors (a client that reset, no file descriptor left)
/// never end it: the listener stays open for the next client.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let cap = connection_cap();
    let connections: Connections = Arc::default();
    let epoch = Instant::now();
    let mut next_id = 0u64;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                if is_out_of_descriptors(&e) {
                    // Make room.
                    evict_one(&connections);
                }
                // Let the closing connection go; a lasting error does not spin.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        if lock(&connections).len() >= cap {
            evict_one(&connections);
        }
        let tracked = Arc::new(Tracked {
            last: AtomicU64::new(0),
            busy: AtomicBool::new(false),
            close: Notify::new(),
            epoch,
            born: Instant::now(),
        });
        tracked.touch();
        next_id += 1;
        let id = next_id;
        lock(&connections).insert(id, Arc::clone(&tracked));
        let connections = Arc::clone(&connections);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            serve_connection(stream, shared, Arc::clone(&tracked)).await;
            lock(&connections).remove(&id);
        });
    }
}

/// Closes the connection that has been idle the longest (none that waits for credentials),
/// passing over those accepted in the last [`GRACE`] while there are others.
fn evict_one(connections: &Connections) {
    let mut connections = lock(connections);
    let oldest = connections
        .iter()
        .filter(|(_, tracked)| !tracked.busy.load(Ordering::Relaxed))
        .max_by_key(|(_, tracked)| (tracked.born.elapsed() >= GRACE, tracked.idle_for()))
        .map(|(id, _)| *id);
    if let Some(tracked) = oldest.and_then(|id| connections.remove(&id)) {
        tracked.close.notify_one();
    }
}

fn is_out_of_descriptors(e: &io::Error) -> bool {
    // EMFILE and ENFILE, on every Unix.
    cfg!(unix) && matches!(e.raw_os_error(), Some(23 | 24))
}

/// [`MAX_CONNECTIONS`], or a quarter of the file descriptors this process may open, so that
/// the refresh always has some left for its own files and sockets.
fn connection_cap() -> usize {
    #[cfg(unix)]
    {
        use nix::sys::resource::{Resource, getrlimit};
        if let Ok((soft, _)) = getrlimit(Resource::RLIMIT_NOFILE) {
            let quarter = usize::try_from(soft / 4).unwrap_or(usize::MAX);
            return quarter.clamp(4, MAX_CONNECTIONS);
        }
    }
    MAX_CONNECTIONS
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>, tracked: Arc<Tracked>) {
    let io = TokioIo::new(Watched {
        inner: stream,
        tracked: Arc::clone(&tracked),
    });
    let service = {
        let tracked = Arc::clone(&tracked);
        hyper::service::service_fn(move |request| {
            let shared = Arc::clone(&shared);
            let tracked = Arc::clone(&tracked);
            async move { Ok::<_, Infallible>(respond(request, &shared, &tracked).await) }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        // hyper's smallest read buffer; a head must fit in MAX_HEADER_BYTES of it.
        .max_buf_size(8192)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS)
        .serve_connection(io, service);
    tokio::select! {
        _ = connection => {}
        () = tracked.close.notified() => {}
        () = idle(&tracked) => {}
    }
}

/// Returns once nothing has moved on the connection for [`IDLE_TIMEOUT`] while it was not
/// waiting for credentials.
async fn idle(tracked: &Tracked) {
    loop {
        let idle_for = tracked.idle_for();
        if tracked.busy.load(Ordering::Relaxed) || idle_for < IDLE_TIMEOUT {
            tokio::time::sleep(
                IDLE_TIMEOUT
                    .saturating_sub(idle_for)
                    .max(Duration::from_millis(100)),
            )
            .await;
        } else {
            return;
        }
    }
}

/// The answer to one request. Its body is never read.
async fn respond(
    request: Request<Incoming>,
    shared: &Shared,
    tracked: &Tracked,
) -> Response<Full<Bytes>> {
    let answer = match check(&request, shared) {
        Err(answer) => answer,
        Ok(()) => {
            tracked.busy.store(true, Ordering::Relaxed);
            let answer = credentials(shared).await;
            tracked.touch();
            tracked.busy.store(false, Ordering::Relaxed);
            answer
        }
    };
    let mut response = Response::new(Full::new(Bytes::copy_from_slice(answer.body.as_bytes())));
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if answer.status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(header::ALLOW, HeaderValue::from_static("GET"));
    }
    // A body we did not read cannot be skipped safely: no next request on this connection.
    if has_body(&request) {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Host, path, method, token: the first that is wrong decides the answer.
fn check(request: &Request<Incoming>, shared: &Shared) -> Result<(), Answer> {
    let refuse = |status, code, message: &str| Answer {
        status,
        body: error_body(code, message),
    };
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let host = match (hosts.next().map(HeaderValue::to_str), hosts.next()) {
        (Some(Ok(host)), None) => host,
        _ => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "one Host header is required",
            ));
        }
    };
    let authority_ok = request
        .uri()
        .authority()
        .is_none_or(|authority| is_loopback_host(authority.as_str()));
    if !is_loopback_host(host) || !authority_ok {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "the Host must be 127.0.0.1, localhost or [::1]",
        ));
    }
    if request.uri().path() != PATH || request.uri().query().is_some() {
        return Err(refuse(StatusCode::NOT_FOUND, "NotFound", "no such path"));
    }
    if request.method() != Method::GET {
        return Err(refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "only GET",
        ));
    }
    let mut tokens = request.headers().get_all(header::AUTHORIZATION).iter();
    let authorized = match (tokens.next(), tokens.next()) {
        (Some(token), None) => bool::from(token.as_bytes().ct_eq(shared.token.as_bytes())),
        _ => false,
    };
    if !authorized {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "wrong or missing Authorization token",
        ));
    }
    Ok(())
}

/// Asks the thread in [`Server::serve`], and waits for it (it refreshes one at a time).
async fn credentials(shared: &Shared) -> Answer {
    let unavailable = || Answer {
        status: StatusCode::SERVICE_UNAVAILABLE,
        body: error_body("Unavailable", "the endpoint is closing"),
    };
    let (reply, answer) = oneshot::channel();
    if shared.events.send(Event::Credentials(reply)).is_err() {
        return unavailable();
    }
    answer.await.unwrap_or_else(|_| unavailable())
}

fn has_body(request: &Request<Incoming>) -> bool {
    let headers = request.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

/// `127.0.0.1`, `localhost` or `[::1]`, each with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port))
            if !name.ends_with(':') && (name.starts_with('[') || !name.contains(':')) =>
        {
            (name, Some(port))
        }
        _ => (host, None),
    };
    let port_ok = port.is_none_or(|port| {
        !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
    });
    port_ok && (name == "127.0.0.1" || name == "[::1]" || name.eq_ignore_ascii_case("localhost"))
}

/// A connection's socket that notes when bytes move, for the idle timeout.
struct Watched {
    inner: TcpStream,
    tracked: Arc<Tracked>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.tracked.touch();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.tracked.touch();
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn error_body(code: &str, message: &str) -> Zeroizing<String> {
    Zeroizing::new(serde_json::json!({ "Code": code, "Message": message }).to_string())
}

/// The container-credentials JSON.
fn credentials_body(credentials: &Credentials) -> Zeroizing<String> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Body<'a> {
        access_key_id: &'a str,
        secret_access_key: &'a str,
        token: Option<&'a str>,
        expiration: Option<String>,
    }
    let body = Body {
        access_key_id: credentials.access_key_id(),
        secret_access_key: credentials.secret_access_key(),
        token: credentials.session_token(),
        expiration: crate::credentials::expiration(credentials),
    };
    Zeroizing::new(serde_json::to_string(&body).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_hosts() {
        for good in [
            "127.0.0.1",
            "127.0.0.1:8080",
            "localhost",
            "LocalHost:1",
            "[::1]",
            "[::1]:65535",
        ] {
            assert!(is_loopback_host(good), "{good}");
        }
        for bad in [
            "",
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example:80",
            "127.0.0.2",
            "::1",
            "[::1]:",
            "127.0.0.1:x",
            "127.0.0.1:123456",
            "[::2]:80",
            "evil@127.0.0.1",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
