//! The guard on the routes meant for the Functions host and the developer, not
//! for web pages: `POST /{FunctionName}` and, in `dev`, the admin endpoint.
//!
//! A page on another site can make a browser POST a "simple" request
//! (`text/plain`, a form) to `127.0.0.1` without a preflight. So these routes
//! take only `Content-Type: application/json`, which no simple request can
//! carry, and refuse a request whose `Origin` is not the app's own: the host
//! sends JSON without an `Origin`, and a page the app serves itself names a
//! loopback origin equal to the `Host` it called (a DNS-rebound name is not
//! loopback, so it is refused too).

use std::net::IpAddr;

use axum::{
    extract::Request,
    http::{header, uri::Authority, HeaderMap},
    middleware::Next,
    response::{IntoResponse, Response},
};
use jojomart_shared::error::ApiError;

/// Answers 403 to a foreign `Origin` and 415 to anything but JSON; otherwise
/// runs the route.
pub async fn host_only(request: Request, next: Next) -> Response {
    if let Err(e) = check(request.headers()) {
        return e.into_response();
    }
    next.run(request).await
}

fn check(headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let own = origin
            .to_str()
            .ok()
            .zip(host)
            .is_some_and(|(origin, host)| is_own_origin(origin, host));
        if !own {
            return Err(ApiError::Forbidden(
                "function invocations are not taken from other sites' pages".into(),
            ));
        }
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|ct| ct.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::UnsupportedMediaType(
            "a function invocation must be JSON (Content-Type: application/json)".into(),
        ));
    }
    Ok(())
}

/// Whether `origin` is `http(s)://` plus the `Host` the request was sent to,
/// and that host is this machine.
fn is_own_origin(origin: &str, host: &str) -> bool {
    let Some(authority) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    if !authority.eq_ignore_ascii_case(host) {
        return false;
    }
    let Ok(authority) = authority.parse::<Authority>() else {
        return false;
    };
    let name = authority.host();
    name.eq_ignore_ascii_case("localhost")
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_own_origin;

    #[test]
    fn only_a_loopback_origin_equal_to_the_host_is_own() {
        assert!(is_own_origin("http://127.0.0.1:7071", "127.0.0.1:7071"));
        assert!(is_own_origin("http://localhost:7071", "localhost:7071"));
        assert!(is_own_origin("http://[::1]:7071", "[::1]:7071"));
        assert!(!is_own_origin("http://127.0.0.1:8080", "127.0.0.1:7071"));
        assert!(!is_own_origin(
            "http://rebound.example:7071",
            "rebound.example:7071"
        ));
        assert!(!is_own_origin("null", "127.0.0.1:7071"));
        assert!(!is_own_origin("http://127.0.0.1:7071/x", "127.0.0.1:7071"));
    }
}
