//! Which addresses a webhook may be sent to. A subscription URL is chosen by a client, so it
//! must not reach the server's own network (server-side request forgery): loopback, private
//! (RFC 1918, fc00::/7), shared (100.64/10), link-local (169.254/16 with the cloud metadata
//! service, fe80::/10), unspecified, broadcast and multicast addresses are refused unless the
//! operator allowed the host by name.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused, said without the address.
pub fn refused_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_reason(v4),
            None => v6_reason(v6),
        },
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("a multicast or reserved address")
    } else {
        None
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a private address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast or reserved address")
    } else {
        None
    }
}

/// Whether `host` (a URL's host, lower-case, IPv6 without brackets) is one the operator
/// allowed despite its addresses.
pub fn allowed_host(host: &str, allowed: &[String]) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    allowed.iter().any(|a| {
        a.trim_start_matches('[')
            .trim_end_matches(']')
            .eq_ignore_ascii_case(host)
    })
}

/// Whether plain `http://` may be used for `host`: only to this machine.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_and_public_ones_pass() {
        for bad in [
            "127.0.0.1",
            "10.0.0.5",
            "172.16.3.4",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.5",
            "::ffff:169.254.169.254",
        ] {
            let ip: IpAddr = bad.parse().unwrap();
            assert!(refused_reason(ip).is_some(), "{bad} must be refused");
        }
        for good in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:2800:220:1::1",
            "172.32.0.1",
        ] {
            let ip: IpAddr = good.parse().unwrap();
            assert_eq!(refused_reason(ip), None, "{good}");
        }
    }

    #[test]
    fn hosts_are_allowed_by_name_and_http_only_to_loopback() {
        let allowed = vec!["127.0.0.1".to_string(), "hooks.internal".to_string()];
        assert!(allowed_host("127.0.0.1", &allowed));
        assert!(allowed_host("HOOKS.internal", &allowed));
        assert!(!allowed_host("10.0.0.5", &allowed));
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("localhost"));
        assert!(!is_loopback_host("10.0.0.5"));
    }
}
