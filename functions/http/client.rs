//! [`ClientAddress`]: where a request came from, for per-client throttling.
//!
//! Under the Functions host (and any Azure front end) the listener only sees
//! the host; the front end appends the caller's address to `X-Forwarded-For`,
//! so its *last* entry is the one a client cannot forge. Without the header
//! (a direct connection, as in `dev`) the peer address is used.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};
use jojomart_shared::error::ApiError;

/// The caller's network address, as text (`unknown` when it cannot be told).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

/// The address part of a `X-Forwarded-For` entry (`1.2.3.4:5678`, `[::1]:80`, `::1`).
fn strip_port(entry: &str) -> &str {
    let entry = entry.trim();
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => entry,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(strip_port)
            .rfind(|v| !v.is_empty());
        if let Some(address) = forwarded {
            return Ok(Self(address.to_ascii_lowercase()));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        Ok(Self(peer.unwrap_or_else(|| "unknown".to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("1.2.3.4:5678"), "1.2.3.4");
        assert_eq!(strip_port(" 1.2.3.4 "), "1.2.3.4");
        assert_eq!(strip_port("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(strip_port("2001:db8::1"), "2001:db8::1");
    }
}
