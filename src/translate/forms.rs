//! Helpers the kinds share: reading an OCPI (or OICP) array with JSON-path errors, writing
//! values as a JSON array, handing loss notes on, and the defaults of [`super::Options`] that
//! are reported when used.

use std::io::{BufWriter, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::io::{Envelope, JsonArray, envelope, for_each_element};
use super::{Context, LossSink, TranslateError};
use crate::mapping::{LossNote, Mapped};
use crate::oicp::v23::common::ActionType;
use crate::oicp::v23::validate::Validate;

/// A top-level JSON array of `T`, each element validated; errors carry `$[i]…` paths. `what`
/// names the expected form in the error for any other top level.
pub(super) fn array<T>(input: &[u8], what: &str) -> Result<Vec<T>, TranslateError>
where
    T: DeserializeOwned + Validate,
{
    if envelope(input)? != Envelope::Array {
        return Err(TranslateError::invalid("$", format!("expected {what}")));
    }
    let mut items = Vec::new();
    for_each_element::<T, _>(input, |_, item| {
        items.push(item);
        Ok(())
    })?;
    Ok(items)
}

/// Writes `items` as a JSON array (element by element, buffered).
pub(super) fn write_array<T: Serialize>(
    out: &mut dyn Write,
    items: &[T],
) -> Result<(), TranslateError> {
    let mut array = JsonArray::start(BufWriter::with_capacity(1 << 16, out))?;
    for item in items {
        array.element(item)?;
    }
    array.finish()?;
    Ok(())
}

/// Hands the notes of `m` to `losses` and returns the value.
pub(super) fn noted<T>(m: Mapped<T>, losses: &mut dyn LossSink) -> Result<T, TranslateError> {
    losses.notes(&m.losses)?;
    Ok(m.value)
}

/// The `ActionType` of push bodies made from OCPI: `--action`, else `fullLoad` (an OCPI array
/// is taken as the whole set), noted at `path`.
pub(super) fn action(
    ctx: &Context<'_>,
    path: &str,
    losses: &mut dyn LossSink,
) -> Result<ActionType, TranslateError> {
    if let Some(a) = &ctx.options.action {
        return Ok(a.clone());
    }
    losses.note(&LossNote::new(
        path,
        "OCPI has no action type: fullLoad (the array is taken as the whole set; --action to change)",
    ))?;
    Ok(ActionType::FullLoad)
}

/// The key of a JSON object that tells its form, if it is an object with that key.
pub(super) fn has_key(value: &serde_json::Value, key: &str) -> bool {
    value.as_object().is_some_and(|o| o.contains_key(key))
}
