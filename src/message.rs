//! Everything `assume` says on stderr goes through here, one line at a time: control
//! characters from config values, arguments or AWS answers are shown escaped (so none can
//! clear the screen, retitle the terminal or write the clipboard), and the password of a
//! `user:pass@` URL never shows. Whether `-v` asked for each step to be told is set once, for
//! the whole process.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Turns the `-v` messages on (once, from the command line).
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Whether `-v` is on.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// `text` as one printable line: line breaks become spaces; every other control character
/// (C0, DEL, C1) and the bidirectional overrides are written as `\xHH` / `\u{HHHH}`; the
/// user-info of any `scheme://user:pass@host` is replaced by `***`.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in redact_urls(text).chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || is_bidi_control(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Prints `assume: LINE` on stderr, cleaned. [`say!`](crate::say) is the short form.
pub fn say(line: impl std::fmt::Display) {
    eprintln!("assume: {}", clean(&line.to_string()));
}

/// `say!("…", args…)`: one line `assume: …` on stderr, control characters escaped.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::message::say(format_args!($($arg)*))
    };
}

/// `verbose!("…", args…)`: like [`say!`](crate::say), only under `-v`.
#[macro_export]
macro_rules! verbose {
    ($($arg:tt)*) => {
        if $crate::message::verbose() {
            $crate::message::say(format_args!($($arg)*))
        }
    };
}

/// Characters that reorder what a terminal shows (Trojan-source style).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Every `scheme://user[:pass]@` in `text` with the user-info replaced by `***`.
pub fn redact_urls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("://") {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends at the first '/', '?', '#' or white space.
        let end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == '\'' || c == '"'
            })
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(user_end) => {
                out.push_str("***");
                out.push_str(&authority[user_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(clean("a\x1b]52;c;aGk=\x07b"), "a\\x1b]52;c;aGk=\\x07b");
        assert_eq!(clean("x\r\ny\tz\x7f"), "x  y\\x09z\\x7f");
        assert_eq!(clean("\u{9b}2J \u{202e}txt"), "\\u{009b}2J \\u{202e}txt");
        assert_eq!(clean("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn url_passwords_are_redacted() {
        assert_eq!(
            clean("cannot reach http://bob:s3cret@127.0.0.1:9/x (refused)"),
            "cannot reach http://***@127.0.0.1:9/x (refused)"
        );
        assert_eq!(
            redact_urls("'https://u@h' and https://h/p@q"),
            "'https://***@h' and https://h/p@q"
        );
        assert_eq!(redact_urls("no url"), "no url");
    }
}
