//! What `serve` says on a first run: where the token, the documentation and the certificate to
//! trust are, and a request that works when pasted into a shell.

use std::net::SocketAddr;
use std::path::Path;

use crate::startup::FirstRun;

/// How the server speaks, for the lines a client needs.
pub enum Tls<'a> {
    /// The self-signed development certificate made under the data directory.
    Development(&'a Path),
    /// A certificate chain given with --tls-cert.
    Given(&'a Path),
    /// Plain HTTP on loopback (--insecure-http).
    Off,
}

/// The request the banner suggests: a list every new organization can make, with no PHI.
const TRY_PATH: &str = "/v1/payers";

/// The banner's lines (without the `revcycle: ` prefix).
pub fn banner(first: &FirstRun, addr: SocketAddr, tls: &Tls) -> Vec<String> {
    let scheme = match tls {
        Tls::Off => "http",
        _ => "https",
    };
    let base = format!("{scheme}://{addr}");
    let mut lines = Vec::new();
    let bearer = match first {
        FirstRun::AdminToken(path) => {
            lines.push(format!(
                "first run: created an organization and an admin token for it in {}",
                path.display()
            ));
            format!("$(cat {})", shell_word(&path.display().to_string()))
        }
        FirstRun::Organization(org) => {
            lines.push(format!(
                "first run: created organization {org}; your identity provider issues the \
                 tokens: give them the claim \"org\": \"{org}\" and the roles each user needs"
            ));
            "$TOKEN".to_string()
        }
    };
    lines.push(format!("API documentation: {base}/docs/"));
    let cacert = match tls {
        Tls::Development(cert) => {
            lines.push(format!(
                "certificate to trust: {} (self-signed, for this machine only)",
                cert.display()
            ));
            format!(" --cacert {}", shell_word(&cert.display().to_string()))
        }
        Tls::Given(cert) => {
            lines.push(format!(
                "certificate: {} (clients trust the authority that issued it)",
                cert.display()
            ));
            String::new()
        }
        Tls::Off => String::new(),
    };
    let token_note = match first {
        FirstRun::AdminToken(_) => "",
        FirstRun::Organization(_) => "   # TOKEN: one from your identity provider",
    };
    lines.push(format!(
        "try it: curl{cacert} -H \"Authorization: Bearer {bearer}\" {base}{TRY_PATH}{token_note}"
    ));
    lines
}

/// `text` as one shell word: unchanged when it holds only characters no shell treats
/// specially, else single-quoted.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:,@%=".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:8443".parse().unwrap()
    }

    #[test]
    fn development_banner_names_docs_certificate_and_a_ready_request() {
        let first = FirstRun::AdminToken("revcycle-data/admin.token".into());
        let cert = Path::new("revcycle-data/tls/dev-cert.pem");
        let lines = banner(&first, addr(), &Tls::Development(cert));
        assert_eq!(
            lines,
            [
                "first run: created an organization and an admin token for it in revcycle-data/admin.token",
                "API documentation: https://127.0.0.1:8443/docs/",
                "certificate to trust: revcycle-data/tls/dev-cert.pem (self-signed, for this machine only)",
                "try it: curl --cacert revcycle-data/tls/dev-cert.pem -H \"Authorization: Bearer $(cat revcycle-data/admin.token)\" https://127.0.0.1:8443/v1/payers",
            ]
        );
        // The README shows the same banner.
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        for line in &lines {
            assert!(readme.contains(&format!("revcycle: {line}\n")), "{line}");
        }
    }

    #[test]
    fn plain_http_and_given_certificates_need_no_cacert() {
        let first = FirstRun::AdminToken("/d/admin.token".into());
        let plain = banner(&first, "[::1]:9000".parse().unwrap(), &Tls::Off);
        assert_eq!(plain[1], "API documentation: http://[::1]:9000/docs/");
        assert_eq!(
            plain[2],
            "try it: curl -H \"Authorization: Bearer $(cat /d/admin.token)\" http://[::1]:9000/v1/payers"
        );
        let given = banner(&first, addr(), &Tls::Given(Path::new("/etc/rc/chain.pem")));
        assert!(given[2].starts_with("certificate: /etc/rc/chain.pem"));
        assert!(given[3].starts_with("try it: curl -H "), "{}", given[3]);
    }

    #[test]
    fn jwks_banner_asks_for_the_identity_providers_token() {
        let org = uuid::Uuid::nil();
        let lines = banner(&FirstRun::Organization(org), addr(), &Tls::Off);
        assert!(lines[0].contains("\"org\": \"00000000-0000-0000-0000-000000000000\""));
        assert!(lines[2].contains("Bearer $TOKEN"), "{}", lines[2]);
    }

    #[test]
    fn paths_with_spaces_or_quotes_stay_one_shell_word() {
        assert_eq!(shell_word("/tmp/a b/t"), "'/tmp/a b/t'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("/plain/path-1.pem"), "/plain/path-1.pem");
    }
}
