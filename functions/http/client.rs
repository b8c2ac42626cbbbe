//! [`ClientAddress`]: where a request came from, for per-client throttling.
//!
//! Under the Functions host (and any Azure front end) the listener only sees
//! the host; each trusted proxy appends the address it saw to
//! `X-Forwarded-For`, so with N trusted hops the N-th entry from the right is
//! the one a client cannot forge. Everything left of it is the client's own
//! writing and is ignored. With no trusted hops (a direct connection, as in
//! `dev`) the header is ignored altogether and the socket peer is the client.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};
use jojomart_shared::error::ApiError;

/// The caller's network address, as text (`unknown` when it cannot be told).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

/// How many proxies in front of the app append to `X-Forwarded-For` (a request extension).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrustedProxyHops(pub usize);

/// The `hops`-th entry from the right of the `X-Forwarded-For` entries, if there are that many.
fn forwarded_client<'a>(
    entries: impl DoubleEndedIterator<Item = &'a str>,
    hops: usize,
) -> Option<&'a str> {
    let n = hops.checked_sub(1)?;
    entries
        .map(strip_port)
        .rev()
        .nth(n)
        .filter(|v| !v.is_empty())
}

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
        let hops = parts
            .extensions
            .get::<TrustedProxyHops>()
            .copied()
            .unwrap_or_default()
            .0;
        let entries: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter(|v| !v.trim().is_empty())
            .collect();
        if let Some(address) = forwarded_client(entries.into_iter(), hops) {
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

    #[test]
    fn the_client_is_the_hops_th_entry_from_the_right() {
        let entries = ["6.6.6.6", "1.2.3.4:80", "10.0.0.1"];
        assert_eq!(forwarded_client(entries.into_iter(), 0), None);
        assert_eq!(forwarded_client(entries.into_iter(), 1), Some("10.0.0.1"));
        assert_eq!(forwarded_client(entries.into_iter(), 2), Some("1.2.3.4"));
        assert_eq!(forwarded_client(entries.into_iter(), 4), None);
    }
}
