//! How values read to a person: times in the browser's locale.

use wasm_bindgen::JsValue;

fn date(epoch_seconds: f64) -> js_sys::Date {
    js_sys::Date::new(&JsValue::from_f64(epoch_seconds * 1000.0))
}

/// Local date and time, e.g. "28/11/2026, 07:15:02".
pub fn local_time(epoch_seconds: f64) -> String {
    date(epoch_seconds)
        .to_locale_string("default", &JsValue::UNDEFINED)
        .into()
}

/// The exact instant, for hover text.
pub fn exact_time(epoch_seconds: f64) -> String {
    date(epoch_seconds).to_iso_string().into()
}

/// Bytes in human units, as the AWS console shows sizes (1 MB = 10^6 bytes).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// `sha256:0123456789ab` — enough to tell digests apart at a glance.
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex)) => format!("{algorithm}:{}", &hex[..hex.len().min(12)]),
        None => digest.to_string(),
    }
}

/// An interval in the largest whole unit: "6 hours", "90 seconds".
pub fn interval(seconds: f64) -> String {
    let seconds = seconds.round().max(0.0) as u64;
    let (n, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(size, _)| seconds >= *size && seconds.is_multiple_of(*size))
        .map(|(size, unit)| (seconds / size, unit))
        .unwrap_or((seconds, "second"));
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}
