//! A local credential endpoint in the AWS container-credentials format, so that SDKs and the
//! aws CLI fetch fresh role credentials whenever theirs run low: loopback only, one random
//! token per run, GET on one path.

use std::time::Duration;

use aws_credential_types::Credentials;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::credentials::Source;
use crate::error::{Error, Result};

/// The one path credentials are served on.
const PATH: &str = "/credentials";

pub struct Server {
    http: tiny_http::Server,
    token: Zeroizing<String>,
    pub uri: String,
}

impl Server {
    /// Binds 127.0.0.1 on a free port, with a new random token.
    pub fn start() -> Result<Server> {
        let http = tiny_http::Server::http("127.0.0.1:0")
            .map_err(|e| Error::Internal(format!("cannot listen on 127.0.0.1: {e}")))?;
        let port = http
            .server_addr()
            .to_ip()
            .map(|addr| addr.port())
            .ok_or_else(|| Error::Internal("the endpoint has no TCP port".into()))?;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Internal(format!("no randomness for the token: {e}")))?;
        let token = Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect());
        Ok(Server {
            http,
            token,
            uri: format!("http://127.0.0.1:{port}{PATH}"),
        })
    }

    /// The two variables a client needs.
    pub fn variables(&self) -> [(&'static str, &str); 2] {
        [
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &self.uri),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", &self.token),
        ]
    }

    /// Answers the next request, if one arrives within `wait`.
    pub fn serve_one(&self, source: &mut Source, wait: Duration) {
        if let Ok(Some(request)) = self.http.recv_timeout(wait) {
            self.answer(request, source);
        }
    }

    fn answer(&self, request: tiny_http::Request, source: &mut Source) {
        let authorized = request
            .headers()
            .iter()
            .any(|h| h.field.equiv("Authorization") && h.value.as_str() == self.token.as_str());
        let (status, body) = if request.url() != PATH {
            (404, error_body("NotFound", "no such path"))
        } else if *request.method() != tiny_http::Method::Get {
            (405, error_body("MethodNotAllowed", "only GET"))
        } else if !authorized {
            (
                403,
                error_body("AccessDenied", "wrong or missing Authorization token"),
            )
        } else {
            match source.credentials() {
                Ok(credentials) => (200, credentials_body(&credentials)),
                Err(e) => {
                    eprintln!("assume: the credential endpoint could not refresh: {e}");
                    (500, error_body("RefreshFailed", &e.to_string()))
                }
            }
        };
        let header = tiny_http::Header::from_bytes("Content-Type", "application/json");
        let mut response = tiny_http::Response::from_string(body.as_str()).with_status_code(status);
        if let Ok(header) = header {
            response.add_header(header);
        }
        let _ = request.respond(response);
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
