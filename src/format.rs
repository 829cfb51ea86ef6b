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
