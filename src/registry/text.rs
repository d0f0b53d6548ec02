//! Free text a person types: names, notes, reasons, actors. One place
//! decides which characters such text may hold and how long it may be, and
//! how text read back from the registry is shown safely.
//!
//! Refused everywhere: C0 controls (tab only in notes), DEL, C1 controls,
//! the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069,
//! U+061C, U+200E, U+200F) and the line and paragraph separators. A name
//! that carries U+202E shows one thing in a table and sorts as another; a
//! newline in a note forges a second row in a CSV or a log; a NUL truncates
//! a C string downstream. None of them belongs in a registry.

use std::borrow::Cow;

use super::Invalid;

/// The longest name (of a site, an organization, an account, a contact):
/// the longest real government site name is well under 100 characters.
pub const NAME_MAX: usize = 200;
/// The longest note, reason or reference.
pub const NOTE_MAX: usize = 2000;

/// Whether `c` may never appear in text a person gives the registry.
/// `tab` says whether a tab is allowed (free text) or not (names).
pub fn forbidden(c: char, tab: bool) -> bool {
    if c == '\t' {
        return !tab;
    }
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Checks a name: trimmed, not empty, no forbidden character (not even a
/// tab), at most [`NAME_MAX`] characters. Returns the trimmed name.
pub fn name(field: &str, value: &str) -> Result<String, Invalid> {
    checked(field, value, false, NAME_MAX, true)
}

/// Checks a name that may be absent (empty after trimming gives `None`).
pub fn optional_name(field: &str, value: &str) -> Result<Option<String>, Invalid> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    name(field, value).map(Some)
}

/// Checks free text (a note, a reason, a reference): trimmed, no
/// forbidden character (a tab is allowed), at most [`NOTE_MAX`]
/// characters. May be empty; callers that need text check for that.
pub fn note(field: &str, value: &str) -> Result<String, Invalid> {
    checked(field, value, true, NOTE_MAX, false)
}

fn checked(
    field: &str,
    value: &str,
    tab: bool,
    max: usize,
    required: bool,
) -> Result<String, Invalid> {
    if let Some(c) = value.chars().find(|&c| forbidden(c, tab)) {
        return Err(Invalid::new(
            field,
            value,
            &format!(
                "contains the control or direction character U+{:04X}, which is not allowed",
                u32::from(c)
            ),
        ));
    }
    let trimmed = value.trim();
    if required && trimmed.is_empty() {
        return Err(Invalid::new(field, value, "is empty"));
    }
    let count = trimmed.chars().count();
    if count > max {
        let shown: String = trimmed.chars().take(40).collect();
        return Err(Invalid::new(
            field,
            &format!("{shown}…"),
            &format!("is {count} characters long; at most {max} are allowed"),
        ));
    }
    Ok(trimmed.to_string())
}

/// Text as it may be shown in a table, a message or a log line: every
/// forbidden character (and a tab) written as an escape (`\n`, `\t`,
/// `\u{202E}`), so that what was stored before these checks, or what a
/// hostile server sent, can never rearrange or forge what a person reads.
pub fn escape(value: &str) -> Cow<'_, str> {
    if !value.chars().any(|c| forbidden(c, false)) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if forbidden(c, false) => out.push_str(&format!("\\u{{{:04X}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_every_class_of_control_character() {
        for bad in [
            "a\u{0}b",
            "a\nb",
            "a\tb",
            "a\u{7F}b",
            "a\u{85}b",
            "a\u{9B}b",
            "a\u{202E}b",
            "a\u{2066}b",
            "a\u{200F}b",
            "a\u{2028}b",
        ] {
            let e = name("name", bad).expect_err(bad);
            assert_eq!(e.field, "name");
            assert!(e.rule.contains("U+"), "{}", e.rule);
            // The message shows the character escaped, never raw.
            assert!(!e.to_string().chars().any(|c| forbidden(c, false)));
        }
        assert_eq!(
            name("name", "  某市人民政府 ").ok().as_deref(),
            Some("某市人民政府")
        );
        assert!(name("name", "   ").is_err());
    }

    #[test]
    fn notes_allow_a_tab_but_nothing_else() {
        assert!(note("note", "a\tb").is_ok());
        assert!(note("note", "a\nb").is_err());
        assert!(note("note", "a\r\nb").is_err());
        assert_eq!(note("note", "").ok().as_deref(), Some(""));
    }

    #[test]
    fn lengths_are_bounded_in_characters_not_bytes() {
        let chinese = "政".repeat(NAME_MAX);
        assert!(name("name", &chinese).is_ok());
        let e = name("name", &format!("{chinese}府")).expect_err("too long");
        assert!(e.rule.contains("201 characters"), "{}", e.rule);
        assert!(note("note", &"x".repeat(NOTE_MAX + 1)).is_err());
    }

    #[test]
    fn escape_makes_every_forbidden_character_visible() {
        assert_eq!(escape("plain 文字"), "plain 文字");
        assert_eq!(
            escape("a\nb\tc\u{202E}d\u{0}"),
            "a\\nb\\tc\\u{202E}d\\u{0000}"
        );
    }
}
