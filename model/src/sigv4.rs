//! SigV4 for ECR calls (the console's, and the benchmark's compiled client), written
//! out rather than taken from aws-sigv4: both only ever sign `POST /` with a JSON
//! body, and aws-sigv4 brings the AWS SDK's runtime types into the wasm bundle. The
//! console's browser tests check this signer against botocore's output byte for byte,
//! and every e2e test against the registry's own verification (aws-sigv4, an
//! independent implementation).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// `YYYYMMDDTHHMMSSZ` for seconds since the Unix epoch (proleptic Gregorian, UTC).
pub fn amz_date(epoch_seconds: u64) -> String {
    let days = (epoch_seconds / 86_400) as i64;
    let secs = epoch_seconds % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The `Host` a browser sends for `url`: the authority, without a default port.
pub fn host_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split('/').next().unwrap_or(rest);
    match (scheme, authority.rsplit_once(':')) {
        ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host.to_string(),
        _ => authority.to_string(),
    }
}

pub struct Credentials<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
}

/// Headers for `POST <endpoint>/` carrying `body`: the given ones plus
/// `x-amz-date`, `x-amz-security-token` (with a session token) and `authorization`.
pub fn sign_post(
    endpoint_url: &str,
    region: &str,
    service: &str,
    credentials: &Credentials<'_>,
    headers: &[(&str, &str)],
    body: &str,
    epoch_seconds: u64,
) -> Vec<(String, String)> {
    let date_time = amz_date(epoch_seconds);
    let date = &date_time[..8];
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    signed.push(("host".into(), host_of(endpoint_url)));
    signed.push(("x-amz-date".into(), date_time.clone()));
    if let Some(token) = credentials.session_token {
        signed.push(("x-amz-security-token".into(), token.to_string()));
    }
    signed.sort();
    let names = signed
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let canonical_request = format!(
        "POST\n/\n\n{canonical_headers}\n{names}\n{}",
        hex(&Sha256::digest(body.as_bytes()))
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{date_time}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = ["aws4_request"].iter().fold(
        hmac(
            &hmac(
                &hmac(
                    format!("AWS4{}", credentials.secret_access_key).as_bytes(),
                    date,
                ),
                region,
            ),
            service,
        ),
        |k, part| hmac(&k, part),
    );
    let signature = hex(&hmac(&key, &string_to_sign));
    let mut out: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    out.push(("x-amz-date".into(), date_time));
    if let Some(token) = credentials.session_token {
        out.push(("x-amz-security-token".into(), token.to_string()));
    }
    out.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={names}, Signature={signature}",
            credentials.access_key_id
        ),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_utc() {
        assert_eq!(amz_date(1_709_251_199), "20240229T235959Z"); // a leap day
        assert_eq!(amz_date(0), "19700101T000000Z");
    }

    /// AWS's published SigV4 example (IAM ListUsers, from the SigV4 documentation):
    /// the derived signing key.
    #[test]
    fn the_signing_key_is_derived_as_aws_documents() {
        let key = hmac(
            &hmac(
                &hmac(
                    &hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830"),
                    "us-east-1",
                ),
                "iam",
            ),
            "aws4_request",
        );
        assert_eq!(
            hex(&key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn hosts_drop_default_ports_only() {
        assert_eq!(host_of("http://registry:80/"), "registry");
        assert_eq!(host_of("https://registry:443"), "registry");
        assert_eq!(host_of("http://127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
