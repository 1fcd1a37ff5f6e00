//! Display texts (a user's name, a concert's title, performer and venue): one rule, checked by
//! [`check`] and stated in the OpenAPI document by the schema functions here
//! (`#[schema(schema_with = …)]`).

use utoipa::openapi::schema::SchemaType;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

use crate::error::{Error, Result};

/// A concert's title, performer or venue: at most this many characters.
pub const TITLE_MAX: usize = 200;
/// A user's display name: at most this many characters.
pub const NAME_MAX: usize = 100;

/// Some character that is not white space, and no control character (C0, DEL, C1).
const PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";

/// `value` as the text it is, or 422 `VALIDATION_FAILED` naming `field`: 1 to `max`
/// characters, not blank, without control characters.
pub fn check(field: &str, value: &str, max: usize) -> Result<String> {
    let n = value.chars().count();
    if value.trim().is_empty() || n > max || value.chars().any(char::is_control) {
        return Err(Error::validation(format!(
            "{field} must be 1 to {max} characters, not blank, without control characters"
        )));
    }
    Ok(value.to_owned())
}

fn schema(max: usize, null: bool) -> Object {
    let kind = if null {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .description(Some(format!(
            "1 to {max} characters, not blank, without control characters{}.",
            if null { "; or null" } else { "" }
        )))
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(PATTERN))
        .build()
}

/// A title, performer or venue.
pub fn title() -> Object {
    schema(TITLE_MAX, false)
}

/// A title, performer or venue that may be null.
pub fn title_or_null() -> Object {
    schema(TITLE_MAX, true)
}

/// A user's display name.
pub fn name() -> Object {
    schema(NAME_MAX, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_one_to_max_chars_not_blank_without_controls() {
        assert!(check("name", "", NAME_MAX).is_err());
        assert!(check("name", "   ", NAME_MAX).is_err());
        assert!(check("name", "a\u{7}b", NAME_MAX).is_err());
        assert!(check("name", "a\u{85}b", NAME_MAX).is_err());
        assert_eq!(
            check("name", &"가".repeat(100), NAME_MAX).unwrap(),
            "가".repeat(100)
        );
        assert!(check("name", &"a".repeat(101), NAME_MAX).is_err());
        assert!(check("title", &"a".repeat(200), TITLE_MAX).is_ok());
    }

    #[test]
    fn the_documented_pattern_is_the_rule_checked() {
        let re = regex::Regex::new(PATTERN).unwrap();
        for s in ["BTS", " a ", "가나", "a\u{7}b", "   ", "a\u{85}b", "\t"] {
            assert_eq!(re.is_match(s), check("t", s, TITLE_MAX).is_ok(), "{s:?}");
        }
    }
}
