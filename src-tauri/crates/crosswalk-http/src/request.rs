//! What a client asks `Http` to send (`RequestSpec`), what it gets back (`Response`), and how a
//! relative path or a paging link becomes a URL on the remote's own origin.

use crate::error::{DecodeError, Error, Result};
use crate::spool::{Spool, READ_CHUNK};
use reqwest::header::{AsHeaderName, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use url::Url;

/// One request as a client describes it; `Http::send` resolves, authenticates, retries and counts it.
pub struct RequestSpec {
    pub(crate) method: Method,
    pub(crate) route: &'static str,
    pub(crate) target: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<std::result::Result<RequestBody, serde_json::Error>>,
    pub(crate) idempotent: bool,
    pub(crate) allowed: Vec<StatusCode>,
    pub(crate) timeout: Option<std::time::Duration>,
}

/// Slowest transfer a file copy is allowed before an attempt gives up (100 KB/s).
const SLOWEST_TRANSFER_BYTES_PER_SEC: u64 = 100 * 1024;

/// A per-attempt deadline for a request that moves `bytes` of file: the usual minute plus the
/// time the bytes take at [`SLOWEST_TRANSFER_BYTES_PER_SEC`], because the default deadline
/// covers the whole body and a 100 MB file would need more than 1.7 MB/s to fit in it.
pub fn transfer_deadline(bytes: u64) -> std::time::Duration {
    std::time::Duration::from_secs(60 + bytes / SLOWEST_TRANSFER_BYTES_PER_SEC)
}

/// A request body kept so every retry sends the same thing: bytes, or parts read again from
/// the start on every attempt.
pub(crate) struct RequestBody {
    pub content_type: Option<HeaderValue>,
    pub content: BodyContent,
}

pub(crate) enum BodyContent {
    Bytes(Vec<u8>),
    Streamed(Arc<[BodyPart]>),
}

/// One piece of a streamed request body (see [`RequestSpec::streamed_body`]).
#[derive(Debug, Clone)]
pub enum BodyPart {
    /// Bytes in memory, e.g. the multipart framing around a file.
    Bytes(Vec<u8>),
    /// Everything in a spool, read a chunk at a time while it is sent.
    Spool(Spool),
}

impl BodyPart {
    fn len(&self) -> u64 {
        match self {
            BodyPart::Bytes(bytes) => bytes.len() as u64,
            BodyPart::Spool(spool) => spool.len(),
        }
    }
}

/// The length of a streamed body (sent as `Content-Length`, which some remotes require).
pub(crate) fn streamed_len(parts: &[BodyPart]) -> u64 {
    parts.iter().map(BodyPart::len).sum()
}

/// The parts of a streamed body as a stream of chunks of at most [`READ_CHUNK`] bytes, from the
/// start: only one chunk is in memory at a time, whatever the size of the file.
pub(crate) fn streamed_chunks(
    parts: Arc<[BodyPart]>,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static {
    futures_util::stream::try_unfold(
        (parts, 0_usize, 0_u64),
        |(parts, mut index, mut offset)| async move {
            loop {
                let chunk = match parts.get(index) {
                    None => return Ok(None),
                    Some(BodyPart::Bytes(bytes)) => {
                        let start = usize::try_from(offset)
                            .unwrap_or(bytes.len())
                            .min(bytes.len());
                        let end = start.saturating_add(READ_CHUNK).min(bytes.len());
                        bytes[start..end].to_vec()
                    }
                    Some(BodyPart::Spool(spool)) => spool.read_at(offset, READ_CHUNK).await?,
                };
                if chunk.is_empty() {
                    index += 1;
                    offset = 0;
                    continue;
                }
                offset += chunk.len() as u64;
                return Ok(Some((chunk, (parts, index, offset))));
            }
        },
    )
}

impl RequestSpec {
    /// A request for `target` (a path+query relative to the base URL, or an absolute URL on the
    /// same origin such as `@odata.nextLink`). `route` is the template logged and put in errors,
    /// e.g. `"/v1.0/users/{id}"`. Idempotency defaults from the method (GET, PUT, DELETE… yes;
    /// POST, PATCH no).
    pub fn new(method: Method, route: &'static str, target: impl Into<String>) -> RequestSpec {
        RequestSpec {
            idempotent: method.is_idempotent(),
            method,
            route,
            target: target.into(),
            headers: HeaderMap::new(),
            body: None,
            allowed: Vec::new(),
            timeout: None,
        }
    }

    /// A GET request.
    pub fn get(route: &'static str, target: impl Into<String>) -> RequestSpec {
        RequestSpec::new(Method::GET, route, target)
    }

    /// Adds a header (replacing the `Http`'s default of the same name).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> RequestSpec {
        self.headers.insert(name, value);
        self
    }

    /// Adds several headers.
    pub fn headers(mut self, headers: HeaderMap) -> RequestSpec {
        self.headers.extend(headers);
        self
    }

    /// A JSON body (`Content-Type: application/json`); serialization errors surface from `send`.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> RequestSpec {
        self.body = Some(serde_json::to_vec(body).map(|bytes| RequestBody {
            content_type: Some(HeaderValue::from_static("application/json")),
            content: BodyContent::Bytes(bytes),
        }));
        self
    }

    /// A raw body with its content type (form posts, attachments).
    pub fn body(mut self, content_type: HeaderValue, bytes: impl Into<Vec<u8>>) -> RequestSpec {
        self.body = Some(Ok(RequestBody {
            content_type: Some(content_type),
            content: BodyContent::Bytes(bytes.into()),
        }));
        self
    }

    /// A body sent in pieces, so a large file goes out of its [`Spool`] a chunk at a time
    /// instead of being copied into memory: `parts` in order, read again from the start on
    /// every attempt, with their total length as `Content-Length`.
    pub fn streamed_body(mut self, content_type: HeaderValue, parts: Vec<BodyPart>) -> RequestSpec {
        self.body = Some(Ok(RequestBody {
            content_type: Some(content_type),
            content: BodyContent::Streamed(parts.into()),
        }));
        self
    }

    /// A raw body whose content type is already among the headers.
    pub(crate) fn raw_body(mut self, bytes: Vec<u8>) -> RequestSpec {
        self.body = Some(Ok(RequestBody {
            content_type: None,
            content: BodyContent::Bytes(bytes),
        }));
        self
    }

    /// Overrides whether repeating the request is harmless (e.g. a POST that only searches).
    pub fn idempotent(mut self, idempotent: bool) -> RequestSpec {
        self.idempotent = idempotent;
        self
    }

    /// Overrides the client's per-attempt deadline (file transfers: [`transfer_deadline`]).
    pub fn timeout(mut self, timeout: std::time::Duration) -> RequestSpec {
        self.timeout = Some(timeout);
        self
    }

    /// Returns `status` as a `Response` instead of an error (410 Gone on delta, 412 on If-Match).
    pub fn allow_status(mut self, status: StatusCode) -> RequestSpec {
        self.allowed.push(status);
        self
    }
}

impl fmt::Debug for RequestSpec {
    // Headers and bodies may carry credentials or personal data; the route says enough.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSpec")
            .field("method", &self.method)
            .field("route", &self.route)
            .field("idempotent", &self.idempotent)
            .finish_non_exhaustive()
    }
}

/// A received response with its body read, so retries and error mapping can look at it.
pub struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) remote: Arc<str>,
    pub(crate) route: &'static str,
}

impl Response {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The server's clock when it answered (the `Date` header): times a client compares with
    /// the server's own timestamps, free of local clock skew.
    pub fn date(&self) -> Option<time::OffsetDateTime> {
        self.headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::retry::parse_http_date)
    }

    /// All response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as text, if present and printable.
    pub fn header(&self, name: impl AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body bytes, owned.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; an empty body reads as `null` (so `()` and `Option` work for 204).
    ///
    /// # Errors
    /// `Error::Decode` naming the remote, route and position, never the offending values.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|source| Error::Decode {
            remote: self.remote.to_string(),
            route: self.route,
            source: DecodeError::new(source, body),
        })
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("route", &self.route)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Turns `target` into a URL on `base`'s origin.
///
/// A relative target is appended to the base URL's path (so a base of `…/workspace/{id}/v1`
/// keeps its prefix). An absolute target must have the base's scheme, host and port: a paging
/// link elsewhere would otherwise receive our credentials. The error text names the foreign
/// origin only, never the link's query.
pub(crate) fn resolve_url(base: &Url, target: &str) -> std::result::Result<Url, String> {
    let url = match Url::parse(target) {
        Ok(absolute) => absolute,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            let mut joined = base.as_str().trim_end_matches('/').to_owned();
            if !target.is_empty() && !target.starts_with(['/', '?']) {
                joined.push('/');
            }
            joined.push_str(target);
            Url::parse(&joined)
                .map_err(|error| format!("the path for this request is not valid ({error})"))?
        }
        Err(error) => return Err(format!("the link is not a valid URL ({error})")),
    };
    if url.origin() != base.origin() {
        return Err(format!(
            "refused a link to {} because it is not on {}",
            url.origin().ascii_serialization(),
            base.origin().ascii_serialization()
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(base: &str, target: &str, expect: std::result::Result<&str, &str>) {
        let base = Url::parse(base).expect("test base URL is valid");
        let res = resolve_url(&base, target);
        match (res, expect) {
            (Ok(url), Ok(expect)) => assert_eq!(url.as_str(), expect, "{target}"),
            (Err(reason), Err(expect)) => assert!(reason.contains(expect), "{target}: {reason}"),
            (res, expect) => panic!("{target}: got {res:?}, expected {expect:?}"),
        }
    }

    #[test]
    fn relative_targets_keep_the_base_path() {
        check(
            "https://graph.microsoft.com",
            "/v1.0/users?$top=999",
            Ok("https://graph.microsoft.com/v1.0/users?$top=999"),
        );
        check(
            "https://graph.microsoft.com/",
            "v1.0/users",
            Ok("https://graph.microsoft.com/v1.0/users"),
        );
        check(
            "https://api.atlassian.com/jsm/assets/workspace/abc/v1/",
            "/object/aql?startAt=0",
            Ok("https://api.atlassian.com/jsm/assets/workspace/abc/v1/object/aql?startAt=0"),
        );
        check(
            "https://acme.atlassian.net",
            "//evil.example/x",
            Ok("https://acme.atlassian.net//evil.example/x"),
        );
    }

    #[test]
    fn absolute_links_must_stay_on_the_origin() {
        check(
            "https://graph.microsoft.com",
            "https://graph.microsoft.com/v1.0/users?$skiptoken=abc",
            Ok("https://graph.microsoft.com/v1.0/users?$skiptoken=abc"),
        );
        check(
            "https://graph.microsoft.com",
            "https://graph.microsoft.com:443/v1.0/users",
            Ok("https://graph.microsoft.com/v1.0/users"),
        );
        check(
            "https://graph.microsoft.com",
            "https://evil.example/v1.0/users?$skiptoken=abc",
            Err("refused a link to https://evil.example"),
        );
        check(
            "https://graph.microsoft.com",
            "http://graph.microsoft.com/v1.0/users",
            Err("refused a link"),
        );
        check(
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8081/x",
            Err("refused a link"),
        );
    }
}
