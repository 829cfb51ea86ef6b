//! Markup written as text, for the few places that build many identical rows at
//! once: the browser's parser turns one string into a thousand rows far faster than
//! a thousand rows of element-by-element calls from wasm (see BENCHMARKS.md).
//! Every value that goes in is escaped here; nothing else may build markup.

/// Markup under construction.
pub struct Markup(String);

impl Markup {
    pub fn with_capacity(bytes: usize) -> Markup {
        Markup(String::with_capacity(bytes))
    }

    /// Markup of the console's own making (tags, attribute names, fixed words).
    pub fn raw(&mut self, markup: &'static str) -> &mut Markup {
        self.0.push_str(markup);
        self
    }

    /// A value, as text or inside a double-quoted attribute: `&`, `<`, `>`, `"` and
    /// `'` become entities, so no value can end an attribute or open a tag.
    pub fn text(&mut self, value: &str) -> &mut Markup {
        for c in value.chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '"' => self.0.push_str("&quot;"),
                '\'' => self.0.push_str("&#39;"),
                c => self.0.push(c),
            }
        }
        self
    }

    pub fn into_string(self) -> String {
        self.0
    }
}
