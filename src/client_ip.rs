//! Who the client is behind a load balancer. Rate limits and the activity log key on
//! the client's address; behind a proxy the TCP peer is the proxy, the same for
//! every client. `X-Forwarded-For` is believed only as far as it was written by
//! proxies the operator named, since anyone can send the header.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;
use std::sync::Arc;

/// `TRUSTED_PROXIES`: addresses or networks (`10.0.0.0/8`) of the reverse proxies
/// in front of the server. Empty (the default): the TCP peer is the client.
/// Shared, not copied, into every request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// A comma-separated list of IP addresses and CIDR networks.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("TRUSTED_PROXIES: {entry:?} is not an IP address or network")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|networks| TrustedProxies(networks.into()))
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then
    /// the nearest address in `X-Forwarded-For` (read from the right, the order
    /// proxies append in) that is not a trusted proxy. An entry that is not an
    /// address ends the walk at the last trusted hop.
    pub(crate) fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop.trim().parse::<IpAddr>() {
                Ok(address) => {
                    client = address.to_canonical();
                    if !self.trusts(client) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn forwarded(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_static(value));
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn lists_of_addresses_and_networks_parse_and_anything_else_is_refused() {
        let proxies = TrustedProxies::parse(" 10.0.0.0/8, 192.168.1.5 ,::1,").unwrap();
        assert!(proxies.trusts(ip("10.20.30.40")));
        assert!(proxies.trusts(ip("192.168.1.5")));
        assert!(!proxies.trusts(ip("192.168.1.6")));
        assert!(proxies.trusts(ip("::1")));
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
        let error = TrustedProxies::parse("10.0.0.1, proxy.internal").unwrap_err();
        assert!(error.contains("\"proxy.internal\""), "{error}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_claims() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let spoofed = forwarded(&["203.0.113.7"]);
        assert_eq!(
            proxies.client_ip(ip("198.51.100.2"), &spoofed),
            ip("198.51.100.2")
        );
        let nobody_trusted = TrustedProxies::default();
        assert_eq!(
            nobody_trusted.client_ip(ip("10.0.0.2"), &spoofed),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_nearest_untrusted_hop() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The client forged a first entry; the load balancer appended the real one.
        let headers = forwarded(&["1.1.1.1, 203.0.113.7"]);
        assert_eq!(
            proxies.client_ip(ip("10.0.0.2"), &headers),
            ip("203.0.113.7")
        );
        // Two proxies, the second header line appended by the inner one.
        let headers = forwarded(&["203.0.113.7, 10.0.0.9", "10.0.0.3"]);
        assert_eq!(
            proxies.client_ip(ip("10.0.0.2"), &headers),
            ip("203.0.113.7")
        );
        // No header: the proxy itself is all there is to go on.
        assert_eq!(
            proxies.client_ip(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        // Every hop trusted: the farthest one.
        let headers = forwarded(&["10.0.0.7, 10.0.0.8"]);
        assert_eq!(proxies.client_ip(ip("10.0.0.2"), &headers), ip("10.0.0.7"));
    }

    #[test]
    fn a_malformed_hop_ends_the_walk_at_the_last_trusted_one() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let headers = forwarded(&["203.0.113.7, not-an-address, 10.0.0.9"]);
        assert_eq!(proxies.client_ip(ip("10.0.0.2"), &headers), ip("10.0.0.9"));
    }

    #[test]
    fn ipv4_mapped_ipv6_addresses_are_read_as_ipv4() {
        let proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        let headers = forwarded(&["::ffff:203.0.113.7"]);
        assert_eq!(
            proxies.client_ip(ip("::ffff:127.0.0.1"), &headers),
            ip("203.0.113.7")
        );
    }
}
