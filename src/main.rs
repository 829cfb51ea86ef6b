fn main() {
    console_error_panic_hook::set_once();
    // index.html paints a shell while the wasm loads; the app takes its place.
    if let Some(boot) = leptos::prelude::document().get_element_by_id("boot") {
        boot.remove();
    }
    leptos::mount::mount_to_body(berth_console::App);
}
