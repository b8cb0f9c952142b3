//! `roambridge ocpi ...`: the OCPI credentials of a running node, through its admin API
//! (`/admin/ocpi`, see [`crate::node::ocpi::admin`]).
//!
//! Decision: the commands talk to the running node, not to its database: registering needs
//! the node's HTTP server (the partner calls it back during the handshake), and the node keeps
//! the credentials in memory too, so a write behind its back would not be seen.
//!
//! The node's URL is `--node`, else `http://<node.listen>` of `--config` (an unspecified
//! address becomes 127.0.0.1); the admin token is `--admin-token`, else `node.admin_token` of
//! `--config`. Exit codes: 0 success, 1 the node refused or the handshake failed (its message
//! on standard error), 2 bad arguments or configuration, or the node unreachable.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

/// How to reach the node's admin API.
#[derive(Debug, Args)]
pub(super) struct NodeArgs {
    /// The node's TOML configuration (for its address and admin token).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The node's base URL, e.g. `http://127.0.0.1:7001` (overrides the configuration).
    #[arg(long)]
    node: Option<String>,
    /// The admin token (overrides the configuration).
    #[arg(long)]
    admin_token: Option<String>,
}

/// `roambridge ocpi` subcommands.
#[derive(Debug, Subcommand)]
pub(super) enum OcpiCommand {
    /// Issue a token A for a partner to register with this node; prints the token and our
    /// versions URL to give the partner.
    TokenA {
        /// The peer it is for, as `cpo/<OperatorID>` or `emp/<ProviderID>` (optional).
        #[arg(long)]
        peer: Option<String>,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Register this node with a partner using the token A the partner gave us.
    Register {
        /// The partner's versions URL.
        versions_url: String,
        /// The partner's token A.
        token_a: String,
        /// The peer it is, as `cpo/<OperatorID>` or `emp/<ProviderID>` (default: from the
        /// partner's credentials).
        #[arg(long)]
        peer: Option<String>,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// List the registered OCPI connections.
    Connections {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Update the registration with a peer: re-read its endpoints, rotate both tokens.
    Update {
        /// `cpo/<OperatorID>` or `emp/<ProviderID>`.
        peer: String,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Unregister from a peer; both sides forget the credentials.
    Unregister {
        /// `cpo/<OperatorID>` or `emp/<ProviderID>`.
        peer: String,
        #[command(flatten)]
        node: NodeArgs,
    },
}

/// `cpo/DE*ABC` as role and ID.
fn split_peer(peer: &str) -> Result<(String, String), String> {
    let (role, id) = peer
        .split_once('/')
        .ok_or_else(|| format!("'{peer}' is not <role>/<id>, e.g. cpo/DE*ABC"))?;
    let role = crate::config::Role::parse(role)
        .ok_or_else(|| format!("'{role}' is not a role (cpo or emp)"))?;
    crate::config::PartnerId::parse(role, id)?;
    Ok((role.as_str().to_owned(), id.to_owned()))
}

/// Percent-encodes an ID for a path segment.
fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl NodeArgs {
    /// The admin base URL and token.
    fn resolve(&self) -> Result<(String, String), String> {
        let config = match &self.config {
            Some(path) => Some(crate::config::Config::load(path).map_err(|e| e.to_string())?),
            None => None,
        };
        let node = match (&self.node, &config) {
            (Some(url), _) => url.trim_end_matches('/').to_owned(),
            (None, Some(c)) => {
                let scheme = if c.node.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                let mut addr = c.node.listen;
                if addr.ip().is_unspecified() {
                    addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                format!("{scheme}://{addr}")
            }
            (None, None) => return Err("give --config or --node".to_owned()),
        };
        let token = self
            .admin_token
            .clone()
            .or_else(|| config.and_then(|c| c.node.admin_token))
            .ok_or_else(|| {
                "no admin token: give --admin-token or set node.admin_token".to_owned()
            })?;
        Ok((node, token))
    }
}

/// One admin API call: (node URL, admin token), method, path, body.
type Prepared = (
    (String, String),
    &'static str,
    String,
    Option<serde_json::Value>,
);

fn prepare(command: &OcpiCommand) -> Result<Prepared, String> {
    Ok(match command {
        OcpiCommand::TokenA { peer, node } => {
            let body = match peer {
                Some(p) => {
                    let (role, id) = split_peer(p)?;
                    serde_json::json!({"role": role, "id": id})
                }
                None => serde_json::json!({}),
            };
            (
                node.resolve()?,
                "POST",
                "/admin/ocpi/tokens".to_owned(),
                Some(body),
            )
        }
        OcpiCommand::Register {
            versions_url,
            token_a,
            peer,
            node,
        } => {
            let mut body = serde_json::json!({"versions_url": versions_url, "token": token_a});
            if let Some(p) = peer {
                let (role, id) = split_peer(p)?;
                body["role"] = role.into();
                body["id"] = id.into();
            }
            (
                node.resolve()?,
                "POST",
                "/admin/ocpi/register".to_owned(),
                Some(body),
            )
        }
        OcpiCommand::Connections { node } => (
            node.resolve()?,
            "GET",
            "/admin/ocpi/connections".to_owned(),
            None,
        ),
        OcpiCommand::Update { peer, node } | OcpiCommand::Unregister { peer, node } => {
            let (role, id) = split_peer(peer)?;
            let path = format!("/admin/ocpi/connections/{role}/{}", segment(&id));
            match command {
                OcpiCommand::Update { .. } => {
                    (node.resolve()?, "POST", format!("{path}/update"), None)
                }
                _ => (node.resolve()?, "DELETE", path, None),
            }
        }
    })
}

/// Runs an `ocpi` subcommand.
pub(super) fn run(command: &OcpiCommand, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    let ((base, token), method, path, body) = match prepare(command) {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return ExitCode::from(2);
        }
    };
    let url = format!("{base}{path}");
    match call(&url, &token, method, body.as_ref()) {
        Err(e) => {
            let _ = writeln!(err, "error: the node did not answer: {e}");
            ExitCode::from(2)
        }
        Ok((status, bytes)) => {
            let text = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            if (200..300).contains(&status) {
                if !text.is_empty() {
                    let _ = writeln!(out, "{text}");
                }
                ExitCode::SUCCESS
            } else {
                let _ = writeln!(err, "error: HTTP {status}: {text}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Sends one admin request; the HTTP status and body.
fn call(
    url: &str,
    token: &str,
    method: &str,
    body: Option<&serde_json::Value>,
) -> Result<(u16, actix_web::web::Bytes), String> {
    actix_web::rt::System::new().block_on(async {
        let client = awc::Client::builder()
            .timeout(Duration::from_mins(2))
            .finish();
        let method = awc::http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let request = client.request(method, url).bearer_auth(token);
        let sent = match body {
            Some(b) => request.send_json(b).await,
            None => request.send().await,
        };
        let mut response = sent.map_err(|e| format!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response
            .body()
            .limit(16 * 1024 * 1024)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        Ok::<_, String>((status, bytes))
    })
}
