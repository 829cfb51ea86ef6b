//! JSON that remembers where each value starts.
//!
//! Policy and lifecycle documents are validated from this tree rather than from
//! `serde_json::Value`, because a problem must name the line and column of the
//! text it is about, and `serde_json` forgets positions once it has parsed. The
//! grammar is RFC 8259's, as strict as `serde_json` (no comments, no trailing
//! commas), and nesting is bounded so hostile input cannot exhaust the stack.

use std::fmt;

/// A place in a document: 1-based line, and 1-based column counted in characters
/// (what an editor shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub const START: Position = Position { line: 1, column: 1 };
}

impl Default for Position {
    fn default() -> Self {
        Position::START
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A value and where its first character is.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub position: Position,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// The number exactly as written, so integers stay exact whatever their size.
    Number(String),
    String(String),
    Array(Vec<Node>),
    /// Members in document order, duplicates kept (see [`Node::get`]).
    Object(Vec<Member>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_position: Position,
    pub value: Node,
}

/// Why a text is not JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.message, self.position)
    }
}

/// Deeper than any policy or lifecycle document needs, shallow enough for any stack.
pub const MAX_DEPTH: usize = 64;

impl Node {
    /// The value of `key` when this is an object. JSON leaves duplicate keys
    /// undefined; like `serde_json` (and so like the registry before it read
    /// positions), the last one counts.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.members()?
            .iter()
            .rev()
            .find(|m| m.key == key)
            .map(|m| &m.value)
    }

    pub fn members(&self) -> Option<&[Member]> {
        match &self.value {
            Value::Object(members) => Some(members),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number as an `i64` when it is written as an integer (no fraction, no exponent).
    pub fn as_integer(&self) -> Option<i64> {
        match &self.value {
            Value::Number(text) if !text.contains(['.', 'e', 'E']) => text.parse().ok(),
            _ => None,
        }
    }

    /// "a string", "an object", …: for messages that say what was found instead.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
        }
    }

    /// The value as it would be written, shortened for messages: scalars in full
    /// (long strings cut), containers by kind.
    pub fn brief(&self) -> String {
        match &self.value {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.clone(),
            Value::String(s) if s.chars().count() > 60 => {
                format!("\"{}…\"", s.chars().take(60).collect::<String>())
            }
            Value::String(s) => format!("\"{s}\""),
            Value::Array(_) | Value::Object(_) => self.kind().into(),
        }
    }

    /// The same document as a `serde_json` value (key order kept, last duplicate wins).
    pub fn to_serde(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::from_str(n).unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(items) => items.iter().map(Node::to_serde).collect(),
            Value::Object(members) => {
                let mut map = serde_json::Map::new();
                for m in members {
                    map.insert(m.key.clone(), m.value.to_serde());
                }
                serde_json::Value::Object(map)
            }
        }
    }
}

/// Parses one JSON document (surrounding whitespace allowed).
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut parser = Parser {
        chars: text.chars().peekable(),
        position: Position::START,
        depth: 0,
    };
    parser.skip_whitespace();
    let node = parser.value()?;
    parser.skip_whitespace();
    if let Some(c) = parser.peek() {
        return Err(parser.error(format!(
            "unexpected {} after the end of the document",
            describe(c)
        )));
    }
    Ok(node)
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    position: Position,
    depth: usize,
}

fn describe(c: char) -> String {
    match c {
        '\n' => "line break".into(),
        c if c.is_control() => format!("control character U+{:04X}", c as u32),
        c => format!("'{c}'"),
    }
}

impl Parser<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.position.line += 1;
            self.position.column = 1;
        } else {
            self.position.column += 1;
        }
        Some(c)
    }

    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            position: self.position,
            message: message.into(),
        }
    }

    fn error_at(position: Position, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            position,
            message: message.into(),
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.bump();
        }
    }

    fn value(&mut self) -> Result<Node, SyntaxError> {
        let position = self.position;
        let value = match self.peek() {
            None => return Err(self.error("the document ends where a value should be")),
            Some('{') => self.nested(Self::object)?,
            Some('[') => self.nested(Self::array)?,
            Some('"') => Value::String(self.string()?),
            Some('t') => self.literal("true", Value::Bool(true))?,
            Some('f') => self.literal("false", Value::Bool(false))?,
            Some('n') => self.literal("null", Value::Null)?,
            Some('-' | '0'..='9') => Value::Number(self.number()?),
            Some(c) => {
                return Err(self.error(format!("expected a value, found {}", describe(c))));
            }
        };
        Ok(Node { value, position })
    }

    fn nested(
        &mut self,
        parse: fn(&mut Self) -> Result<Value, SyntaxError>,
    ) -> Result<Value, SyntaxError> {
        if self.depth == MAX_DEPTH {
            return Err(self.error(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        self.depth += 1;
        let value = parse(self);
        self.depth -= 1;
        value
    }

    fn object(&mut self) -> Result<Value, SyntaxError> {
        self.bump();
        let mut members = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some('}') {
            self.bump();
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_whitespace();
            let key_position = self.position;
            match self.peek() {
                Some('"') => {}
                Some(c) => {
                    return Err(self.error(format!(
                        "expected a key in double quotes, found {}",
                        describe(c)
                    )))
                }
                None => return Err(self.error("the document ends inside an object")),
            }
            let key = self.string()?;
            self.skip_whitespace();
            match self.peek() {
                Some(':') => {
                    self.bump();
                }
                Some(c) => {
                    return Err(self.error(format!(
                        "expected ':' after the key \"{key}\", found {}",
                        describe(c)
                    )))
                }
                None => return Err(self.error("the document ends inside an object")),
            }
            self.skip_whitespace();
            let value = self.value()?;
            members.push(Member {
                key,
                key_position,
                value,
            });
            self.skip_whitespace();
            let comma = self.position;
            match self.bump() {
                Some(',') => {
                    self.skip_whitespace();
                    if self.peek() == Some('}') {
                        return Err(Self::error_at(
                            comma,
                            "a comma before '}': JSON allows no trailing comma",
                        ));
                    }
                }
                Some('}') => return Ok(Value::Object(members)),
                Some(c) => {
                    return Err(Self::error_at(
                        comma,
                        format!("expected ',' or '}}' after a member, found {}", describe(c)),
                    ))
                }
                None => return Err(self.error("the document ends inside an object")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, SyntaxError> {
        self.bump();
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(']') {
            self.bump();
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value()?);
            self.skip_whitespace();
            let comma = self.position;
            match self.bump() {
                Some(',') => {
                    self.skip_whitespace();
                    if self.peek() == Some(']') {
                        return Err(Self::error_at(
                            comma,
                            "a comma before ']': JSON allows no trailing comma",
                        ));
                    }
                }
                Some(']') => return Ok(Value::Array(items)),
                Some(c) => {
                    return Err(Self::error_at(
                        comma,
                        format!(
                            "expected ',' or ']' after a list item, found {}",
                            describe(c)
                        ),
                    ))
                }
                None => return Err(self.error("the document ends inside a list")),
            }
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, SyntaxError> {
        let start = self.position;
        for expected in word.chars() {
            if self.peek() != Some(expected) {
                return Err(Self::error_at(
                    start,
                    format!("expected a value (did you mean {word}?)"),
                ));
            }
            self.bump();
        }
        Ok(value)
    }

    fn digits(&mut self, text: &mut String) -> usize {
        let mut count = 0;
        while let Some(c @ '0'..='9') = self.peek() {
            text.push(c);
            self.bump();
            count += 1;
        }
        count
    }

    fn number(&mut self) -> Result<String, SyntaxError> {
        let start = self.position;
        let mut text = String::new();
        if self.peek() == Some('-') {
            text.push('-');
            self.bump();
        }
        let bad = |what: &str| Self::error_at(start, format!("not a valid number: {what}"));
        match self.peek() {
            Some('0') => {
                text.push('0');
                self.bump();
                if matches!(self.peek(), Some('0'..='9')) {
                    return Err(bad("no leading zeros"));
                }
            }
            Some('1'..='9') => {
                self.digits(&mut text);
            }
            _ => return Err(bad("digits must follow '-'")),
        }
        if self.peek() == Some('.') {
            text.push('.');
            self.bump();
            if self.digits(&mut text) == 0 {
                return Err(bad("digits must follow '.'"));
            }
        }
        if let Some(e @ ('e' | 'E')) = self.peek() {
            text.push(e);
            self.bump();
            if let Some(sign @ ('+' | '-')) = self.peek() {
                text.push(sign);
                self.bump();
            }
            if self.digits(&mut text) == 0 {
                return Err(bad("digits must follow the exponent"));
            }
        }
        Ok(text)
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.error("\\u must be followed by four hex digits"))?;
            self.bump();
            code = code * 16 + digit;
        }
        Ok(code)
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.position;
        self.bump();
        let mut out = String::new();
        loop {
            let here = self.position;
            let Some(c) = self.bump() else {
                return Err(Self::error_at(
                    start,
                    "this string has no closing double quote",
                ));
            };
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let escape = self.bump().ok_or_else(|| {
                        Self::error_at(start, "this string has no closing double quote")
                    })?;
                    match escape {
                        '"' | '\\' | '/' => out.push(escape),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let high = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&high) {
                                if self.bump() != Some('\\') || self.bump() != Some('u') {
                                    return Err(Self::error_at(
                                        here,
                                        "a \\u escape of a high surrogate must be followed by its low surrogate",
                                    ));
                                }
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(Self::error_at(here, "invalid surrogate pair"));
                                }
                                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                high
                            };
                            let c = char::from_u32(code).ok_or_else(|| {
                                Self::error_at(here, "a \\u escape names no character")
                            })?;
                            out.push(c);
                        }
                        other => {
                            return Err(Self::error_at(
                                here,
                                format!("unknown escape \\{other} in a string"),
                            ))
                        }
                    }
                }
                c if (c as u32) < 0x20 => {
                    return Err(Self::error_at(
                        here,
                        format!("{} inside a string: escape it", describe(c)),
                    ))
                }
                c => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn values_remember_where_they_start() {
        let text = "{\n  \"a\": [1, \"two\",\n    {\"b\": null}],\n  \"c\": true\n}";
        let doc = parse(text).unwrap();
        assert_eq!(doc.position, at(1, 1));
        let members = doc.members().unwrap();
        assert_eq!(members[0].key_position, at(2, 3));
        let a = doc.get("a").unwrap();
        assert_eq!(a.position, at(2, 8));
        let items = a.items().unwrap();
        assert_eq!(items[1].position, at(2, 12));
        assert_eq!(items[1].as_str(), Some("two"));
        assert_eq!(items[2].position, at(3, 5));
        assert_eq!(items[2].get("b").unwrap().position, at(3, 11));
        assert_eq!(doc.get("c").unwrap().value, Value::Bool(true));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let doc = parse("{\"é\": \"ü\", \"x\": 1}").unwrap();
        assert_eq!(doc.get("x").unwrap().position, at(1, 17));
    }

    #[test]
    fn strings_unescape() {
        let doc = parse(r#""a\"b\\c\/\n\u00e9\ud83d\ude00""#).unwrap();
        assert_eq!(doc.as_str(), Some("a\"b\\c/\né😀"));
    }

    #[test]
    fn numbers_keep_their_text() {
        let doc = parse("[0, -12, 3.5, 1e3, 9007199254740993]").unwrap();
        let items = doc.items().unwrap();
        assert_eq!(items[1].as_integer(), Some(-12));
        assert_eq!(items[2].as_integer(), None);
        assert_eq!(items[3].as_integer(), None);
        assert_eq!(items[4].as_integer(), Some(9_007_199_254_740_993));
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let doc = parse(r#"{"a": 1, "a": 2}"#).unwrap();
        assert_eq!(doc.get("a").unwrap().as_integer(), Some(2));
        assert_eq!(doc.members().unwrap().len(), 2);
    }

    #[test]
    fn errors_point_at_the_fault() {
        let cases = [
            ("{\n  \"a\": 1,\n}", at(2, 9), "trailing comma"),
            ("[1,]", at(1, 3), "trailing comma"),
            ("[,]", at(1, 2), "expected a value, found ','"),
            ("{\"a\" 1}", at(1, 6), "expected ':'"),
            ("{\"a\": 1 \"b\": 2}", at(1, 9), "expected ',' or '}'"),
            ("{a: 1}", at(1, 2), "expected a key in double quotes"),
            ("\"abc", at(1, 1), "no closing double quote"),
            ("[tru]", at(1, 2), "did you mean true?"),
            ("01", at(1, 1), "no leading zeros"),
            ("1.", at(1, 1), "digits must follow '.'"),
            ("\"a\u{1}\"", at(1, 3), "control character"),
            ("\"\\x\"", at(1, 2), "unknown escape"),
            ("{} {}", at(1, 4), "after the end of the document"),
            ("", at(1, 1), "ends where a value should be"),
            ("[1, 2", at(1, 6), "ends inside a list"),
        ];
        for (text, position, needle) in cases {
            let error = parse(text).unwrap_err();
            assert_eq!(error.position, position, "{text:?}: {error}");
            assert!(error.message.contains(needle), "{text:?}: {error}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep)
            .unwrap_err()
            .message
            .contains("nested more than"));
        let fine = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn agrees_with_serde_json() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","n":-1.5e2,"x":[true,false,null]}]}"#;
        let expected: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(parse(text).unwrap().to_serde(), expected);
    }
}
