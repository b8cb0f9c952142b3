//! Validation errors and the rules that concern more than one member.
//!
//! Rules local to one value (ID patterns, lengths, enumerations, "exactly one member") are
//! checked while parsing (see [`wire`](super::wire)). Rules that relate members to each other
//! or depend on the operation (for example "only `RemoteIdentification` in a remote start") are
//! [`Validate`] impls, run on the typed value once it parsed.

use std::fmt;

use super::status::Code;
use super::wire::{Seg, render_path};

/// One broken rule: where (a JSON path such as `$.OperatorEvseData.EvseDataRecord[3].EvseID`),
/// what, and the OICP status code it maps to (022 Data error unless the spec names a more
/// precise one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// JSON path of the offending member, `$` for the whole document.
    pub path: String,
    /// The OICP status code this error answers with.
    pub code: Code,
    /// The broken rule, in words.
    pub message: String,
}

impl ValidationError {
    /// Creates an error.
    pub fn new(path: String, code: Code, message: String) -> Self {
        Self {
            path,
            code,
            message,
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (OICP {})",
            self.path,
            self.message,
            self.code.as_str()
        )
    }
}

/// The code a whole rejected message answers with: the first error's code that is more precise
/// than 022, else 022.
pub fn response_code(errors: &[ValidationError]) -> Code {
    errors
        .iter()
        .map(|e| &e.code)
        .find(|c| **c != Code::DataError)
        .cloned()
        .unwrap_or(Code::DataError)
}

/// Cross-member and per-operation rules of a parsed value.
pub trait Validate {
    /// Reports every broken rule to `v`.
    fn validate(&self, v: &mut Validator);
}

/// Walks a parsed value, tracking the JSON path, and collects errors.
#[derive(Debug, Default)]
pub struct Validator {
    path: Vec<Seg>,
    errors: Vec<ValidationError>,
}

impl Validator {
    /// Runs the rules of `value` and returns the errors found.
    pub fn run<T: Validate + ?Sized>(value: &T) -> Vec<ValidationError> {
        let mut v = Self::default();
        value.validate(&mut v);
        v.errors
    }

    /// Runs `f` with `key` appended to the path.
    pub fn at(&mut self, key: &str, f: impl FnOnce(&mut Self)) {
        self.path.push(Seg::Key(key.to_owned()));
        f(self);
        self.path.pop();
    }

    /// Runs `f` with `[index]` appended to the path.
    pub fn at_index(&mut self, index: usize, f: impl FnOnce(&mut Self)) {
        self.path.push(Seg::Index(index));
        f(self);
        self.path.pop();
    }

    /// Validates a nested value at `key`.
    pub fn nested<T: Validate + ?Sized>(&mut self, key: &str, value: &T) {
        self.at(key, |v| value.validate(v));
    }

    /// Validates an optional nested value at `key`.
    pub fn nested_opt<T: Validate>(&mut self, key: &str, value: Option<&T>) {
        if let Some(value) = value {
            self.nested(key, value);
        }
    }

    /// Validates every element of a list at `key`.
    pub fn each<T: Validate>(&mut self, key: &str, items: &[T]) {
        self.at(key, |v| {
            for (i, item) in items.iter().enumerate() {
                v.at_index(i, |v| item.validate(v));
            }
        });
    }

    /// Reports a data error (022) at the current path.
    pub fn error(&mut self, message: impl Into<String>) {
        self.error_with(Code::DataError, message);
    }

    /// Reports an error with a specific code at the current path.
    pub fn error_with(&mut self, code: Code, message: impl Into<String>) {
        self.errors.push(ValidationError::new(
            render_path(&self.path),
            code,
            message.into(),
        ));
    }

    /// Reports a data error at `key` below the current path.
    pub fn error_at(&mut self, key: &str, message: impl Into<String>) {
        self.at(key, |v| v.error(message));
    }

    /// Whether any error was reported so far.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}
