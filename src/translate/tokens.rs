//! `tokens` <-> `tokens`: OICP authentication data <-> OCPI Tokens.
//!
//! # OICP form
//! An `eRoamingPushAuthenticationData` body (`ActionType`, `ProviderAuthenticationData`), or a
//! JSON array of such bodies (what `ocpi-to-oicp tokens` writes: one body per eMSP, since
//! authentication data records do not carry their `ProviderID`). Told apart by the top level.
//!
//! # OCPI form
//! A JSON array of OCPI Tokens.
//!
//! # Context and losses
//! * OICP -> OCPI ([`crate::mapping::token::auth_data_to_tokens`]): `issuer` is
//!   [`super::Options::issuer`] (`--issuer`), else the `ProviderID`; `whitelist` is
//!   [`super::Options::whitelist`] (`--whitelist`), else `ALWAYS`; the mapping notes the values
//!   it filled in. The `ActionType` has no place in a Token list: it is noted at
//!   `ActionType` with what a receiver does instead (`fullLoad`: PUT the Tokens and set
//!   `valid: false` on the provider's others; `delete`: the Tokens come with `valid: false`).
//!   Paths are those of the body (`ProviderAuthenticationData.AuthenticationDataRecord[n]…`),
//!   prefixed `[i].` for an array of bodies.
//! * OCPI -> OICP ([`crate::mapping::token::tokens_to_auth_data`]): one body per eMSP (in
//!   `ProviderID` order); `ActionType` is [`super::Options::action`] (`--action`), else
//!   `fullLoad` (noted). Paths are `Token[n]…`.

use std::io::Write;

use super::forms::{action, array, noted, write_array};
use super::io::{Envelope, envelope};
use super::{Context, LossSink, TranslateError};
use crate::mapping::LossNote;
use crate::mapping::token::{TokenBatchAction, TokenCtx, auth_data_to_tokens, tokens_to_auth_data};
use crate::ocpi::v221::tokens::Token;
use crate::oicp::v23::auth_data::PushAuthenticationData;
use crate::oicp::v23::wire::parse;

/// What a receiver of the Token list does for the push's action (the list cannot say it).
fn action_note(action: TokenBatchAction) -> &'static str {
    match action {
        TokenBatchAction::ReplaceAll => {
            "fullLoad: a Token list cannot replace a set; PUT the Tokens and set valid: false on the provider's other Tokens"
        }
        TokenBatchAction::Upsert => {
            "insert/update: PUT the Tokens (OCPI PUT creates or replaces; OICP's insert/update distinction is not carried)"
        }
        TokenBatchAction::Invalidate => {
            "delete: OCPI never deletes Tokens; they come with valid: false (PATCH them)"
        }
    }
}

/// OICP authentication data (a push body or an array of them) -> OCPI Tokens.
pub fn oicp_to_ocpi(
    input: &[u8],
    ctx: &Context<'_>,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    let (bodies, prefixed) = match envelope(input)? {
        Envelope::Array => (
            array::<PushAuthenticationData>(
                input,
                "a JSON array of eRoamingPushAuthenticationData bodies",
            )?,
            true,
        ),
        e if e.has("ProviderAuthenticationData") => (vec![parse(input)?], false),
        Envelope::Object(_) => {
            return Err(TranslateError::invalid(
                "$",
                "expected an eRoamingPushAuthenticationData body (ProviderAuthenticationData) or a JSON array of them",
            ));
        }
    };
    let mut tctx = TokenCtx::new(ctx.mapping.now);
    if let Some(issuer) = &ctx.options.issuer {
        tctx = tctx.with_issuer(issuer.clone());
    }
    if let Some(w) = &ctx.options.whitelist {
        tctx = tctx.with_whitelist(w.clone());
    }
    let mut tokens = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let prefix = if prefixed {
            format!("[{i}]")
        } else {
            String::new()
        };
        let batch = auth_data_to_tokens(body, &tctx)
            .map_err(|e| e.prefixed(&prefix))?
            .prefixed(&prefix);
        let path = if prefixed {
            format!("{prefix}.ActionType")
        } else {
            "ActionType".to_owned()
        };
        losses.note(&LossNote::new(path, action_note(batch.value.action)))?;
        tokens.extend(noted(batch, losses)?.tokens);
    }
    write_array(out, &tokens)
}

/// OCPI Tokens -> a JSON array of `eRoamingPushAuthenticationData` bodies, one per eMSP.
pub fn ocpi_to_oicp(
    input: &[u8],
    ctx: &Context<'_>,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    let tokens: Vec<Token> = array(input, "a JSON array of OCPI Tokens")?;
    let action = action(ctx, "ActionType", losses)?;
    let bodies = noted(tokens_to_auth_data(&tokens, &action)?, losses)?;
    write_array(out, &bodies)
}
