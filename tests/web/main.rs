//! Console tests in headless Chromium (wasm-bindgen-test): pure logic that must
//! hold in the browser, and screens mounted and driven like a person would.

use berth_console::session::{Connection, RegistryKind};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod lifecycle_and_simulator;
mod logic;
mod screens;
mod tables;

pub fn connection() -> Connection {
    Connection {
        kind: RegistryKind::Berth,
        endpoint: "http://127.0.0.1:5000".into(),
        region: "us-east-1".into(),
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: None,
    }
}
