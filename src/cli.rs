//! The `roambridge` command line.
//!
//! * `roambridge oicp validate <Operation> <FILE|-> [--response]`: prints `valid` and exits 0,
//!   or prints one line per error (`<JSON path>: <rule> (OICP <code>)`) and exits 1. A file that
//!   cannot be read or an unknown operation exits 2.
//! * `roambridge oicp operations`: the table of operations.
//! * `roambridge run --config FILE`: runs a node (see [`crate::config`] for the file). A bad
//!   configuration exits 2 with `file: key: problem`; a start failure (database, port) exits 1.
//! * `roambridge routes explain <Operation> <PartnerID> --config FILE`: prints which route
//!   applies and which `[[route]]` rule chose it (see [`crate::routing`]), exits 0. An unknown
//!   operation, an invalid partner ID or a bad configuration (`error: file: key: problem`)
//!   exits 2.
//! * `roambridge outbox list [--dead] [--limit N] --config FILE`: the node's pending messages
//!   (or dead letters), one line each: ID, state, target, operation, attempts, created, next
//!   attempt, last error.
//! * `roambridge outbox retry <ID> --config FILE`: a dead letter becomes pending again
//!   (attempts reset); `roambridge outbox drop <ID> --config FILE` deletes a message.
//!
//!   The outbox commands work directly on the configured `SQLite` file, whether the node is
//!   running (WAL lets both at the file; the node picks a retried message up within a second)
//!   or stopped. They exit 0 on success, 1 for an unknown ID or a message in the wrong state,
//!   2 for a bad configuration, a database in memory or a database file that does not exist.
//! * `roambridge ocpi token-a|register|connections|update|unregister`: OCPI credentials of a
//!   running node through its admin API (see `cli/ocpi.rs`).
//! * `roambridge translate oicp-to-ocpi|ocpi-to-oicp <kind> <FILE|-> [--report FILE]
//!   [--now RFC3339]`: see [`crate::translate`] for the kinds and forms; JSON on standard
//!   output, loss notes on standard error (`path: reason`) or in the report. Exit codes: 0,
//!   1 invalid input (`error: <JSON path>: <problem>` lines on standard error), 2 usage, a kind
//!   not available yet, an unreadable file.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::oicp::v23::operations::{BodyKind, Operation, operations_table};

mod ocpi;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "roambridge",
    version,
    about = "Peer-to-peer OICP 2.3 roaming gateway for EV charging"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node with a configuration file.
    Run {
        /// The node's TOML configuration, e.g. config/cpo.toml.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// OICP 2.3 tools.
    Oicp {
        #[command(subcommand)]
        command: OicpCommand,
    },
    /// Route rules (`[routing]`, `[[route]]`).
    Routes {
        #[command(subcommand)]
        command: RoutesCommand,
    },
    /// The durable outbox of a node: pending messages and dead letters.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// OCPI credentials of a running node (token A, register, update, unregister).
    Ocpi {
        #[command(subcommand)]
        command: ocpi::OcpiCommand,
    },
    /// Translate a document between OICP 2.3 and OCPI 2.2.1 (JSON on standard output, loss
    /// notes on standard error or in --report).
    Translate {
        #[command(subcommand)]
        direction: TranslateCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TranslateCommand {
    /// OICP 2.3 in, OCPI 2.2.1 out.
    OicpToOcpi(TranslateArgs),
    /// OCPI 2.2.1 in, OICP 2.3 out.
    OcpiToOicp(TranslateArgs),
}

#[derive(Debug, clap::Args)]
struct TranslateArgs {
    /// What the document holds: evse-data (also spelled locations), evse-status, cdr, tokens,
    /// tariffs.
    kind: String,
    /// The JSON file, or `-` for standard input.
    file: PathBuf,
    /// Write the loss notes to this file as a JSON array of {"path", "reason"} instead of
    /// standard error.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// "Now" (RFC 3339) for values the input does not date (e.g. `last_updated` of records
    /// without `lastUpdate`); default: the clock. For reproducible output.
    #[arg(long)]
    now: Option<String>,
}

#[derive(Debug, Subcommand)]
enum OutboxCommand {
    /// List pending messages (with `--dead`: the dead letters).
    List {
        /// List the dead letters instead of the pending messages.
        #[arg(long)]
        dead: bool,
        /// At most this many messages.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// The node's TOML configuration (its `node.database` is used).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Make a dead letter pending again (attempts reset).
    Retry {
        /// The message ID (see `roambridge outbox list --dead`).
        id: i64,
        /// The node's TOML configuration (its `node.database` is used).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Delete a message, pending or dead; it is never sent.
    Drop {
        /// The message ID (see `roambridge outbox list`).
        id: i64,
        /// The node's TOML configuration (its `node.database` is used).
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum RoutesCommand {
    /// Print which route applies to an operation with a partner, and which rule chose it.
    Explain {
        /// Operation name, e.g. `ChargeDetailRecord` (see `roambridge oicp operations`).
        operation: String,
        /// The partner: a `ProviderID` for what a CPO sends, an `OperatorID` for what an EMP
        /// sends.
        partner: String,
        /// The node's TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum OicpCommand {
    /// Validate a message body against the OICP 2.3 model and rules.
    Validate {
        /// Operation name, e.g. `PushEvseData`, `AuthorizeStart`, `ChargingNotificationEnd`
        /// (see `roambridge oicp operations`).
        operation: String,
        /// The JSON file, or `-` for standard input.
        file: PathBuf,
        /// Validate the operation's response body instead of its request body.
        #[arg(long)]
        response: bool,
    },
    /// Print the table of operations: method, path template, direction, body types.
    Operations,
}

/// Runs the command line with the process arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Unlocked handles: a node logs to standard error from other threads while it runs.
    run(cli, &mut std::io::stdout(), &mut std::io::stderr())
}

/// Runs a parsed command, writing to the given streams; returns the exit code.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    match cli.command {
        Command::Run { config } => run_node(&config, err),
        Command::Oicp {
            command: OicpCommand::Operations,
        } => {
            let _ = out.write_all(operations_table().as_bytes());
            ExitCode::SUCCESS
        }
        Command::Oicp {
            command:
                OicpCommand::Validate {
                    operation,
                    file,
                    response,
                },
        } => validate(&operation, &file, response, out, err),
        Command::Routes {
            command:
                RoutesCommand::Explain {
                    operation,
                    partner,
                    config,
                },
        } => explain_route(&operation, &partner, &config, out, err),
        Command::Outbox { command } => outbox(&command, out, err),
        Command::Ocpi { command } => ocpi::run(&command, out, err),
        Command::Translate { direction } => {
            let (direction, args) = match direction {
                TranslateCommand::OicpToOcpi(a) => (crate::translate::Direction::OicpToOcpi, a),
                TranslateCommand::OcpiToOicp(a) => (crate::translate::Direction::OcpiToOicp, a),
            };
            translate(direction, &args, out, err)
        }
    }
}

/// `roambridge translate`: exit 0 on success, 1 for invalid input (one `error: path: message`
/// line per defect on standard error) or a failed mapping, 2 for an unknown kind, a kind not
/// available yet, an unreadable file, a bad `--now` or output that cannot be written. The
/// report file is removed when the translation fails (it would be incomplete).
fn translate(
    direction: crate::translate::Direction,
    args: &TranslateArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ExitCode {
    use crate::translate::io::{JsonReport, NoteLines};
    use crate::translate::{Kind, TranslateError};

    let Some(kind) = Kind::from_name(&args.kind) else {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        let _ = writeln!(
            err,
            "error: unknown kind '{}'; kinds: {} (locations is evse-data)",
            args.kind,
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    if crate::translate::translator(direction, kind).is_none() {
        let _ = writeln!(
            err,
            "error: translate {direction} {kind} is not available yet"
        );
        return ExitCode::from(2);
    }
    let now = match args
        .now
        .as_deref()
        .map(chrono::DateTime::parse_from_rfc3339)
    {
        None => chrono::Utc::now(),
        Some(Ok(t)) => t.with_timezone(&chrono::Utc),
        Some(Err(e)) => {
            let _ = writeln!(err, "error: --now is not an RFC 3339 date-time: {e}");
            return ExitCode::from(2);
        }
    };
    let ctx = crate::mapping::MappingCtx::new(now);
    let input = match read_input(&args.file) {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(err, "error: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let result = if let Some(path) = &args.report {
        {
            let report = std::fs::File::create(path)
                .map(|f| std::io::BufWriter::with_capacity(1 << 16, f))
                .and_then(JsonReport::start);
            let mut report = match report {
                Ok(r) => r,
                Err(e) => {
                    let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            };
            let result =
                crate::translate::translate(direction, kind, &input, &ctx, out, &mut report);
            let result = result.and_then(|()| Ok(report.finish().map(drop)?));
            if result.is_err() {
                let _ = std::fs::remove_file(path);
            }
            result
        }
    } else {
        let mut notes = NoteLines(std::io::BufWriter::new(&mut *err));
        let result = crate::translate::translate(direction, kind, &input, &ctx, out, &mut notes);
        result.and_then(|()| Ok(notes.0.flush()?))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(TranslateError::Invalid(errors)) => {
            for e in &errors {
                let _ = writeln!(err, "error: {e}");
            }
            let _ = writeln!(
                err,
                "invalid {} input: {} error(s)",
                match direction {
                    crate::translate::Direction::OicpToOcpi => "OICP",
                    crate::translate::Direction::OcpiToOicp => "OCPI",
                },
                errors.len()
            );
            ExitCode::FAILURE
        }
        Err(e @ TranslateError::Mapping(_)) => {
            let _ = writeln!(err, "error: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Opens the database of the configuration, which must be a file that exists.
async fn open_outbox_store(config: &std::path::Path) -> Result<crate::store::Store, String> {
    let config = crate::config::Config::load(config).map_err(|e| format!("error: {e}"))?;
    let Some(path) = config.database_path() else {
        return Err(format!(
            "error: {}: node.database is \":memory:\"; use the admin API (/admin/outbox) of the running node",
            config.source
        ));
    };
    if !path.exists() {
        return Err(format!("error: no database at {}", path.display()));
    }
    crate::store::Store::open(&path)
        .await
        .map_err(|e| format!("error: cannot open the database {}: {e}", path.display()))
}

fn outbox(command: &OutboxCommand, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    use crate::store::{OutboxState, RetryOutcome};

    let (OutboxCommand::List { config, .. }
    | OutboxCommand::Retry { config, .. }
    | OutboxCommand::Drop { config, .. }) = command;
    let system = actix_web::rt::System::new();
    let store = match system.block_on(open_outbox_store(config)) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return ExitCode::from(2);
        }
    };
    match command {
        OutboxCommand::List { dead, limit, .. } => {
            let which = if *dead {
                OutboxState::Dead
            } else {
                OutboxState::Pending
            };
            match system.block_on(store.outbox_list(which, *limit)) {
                Ok(list) => {
                    let _ = writeln!(
                        out,
                        "ID\tSTATE\tTARGET\tOPERATION\tATTEMPTS\tCREATED\tNEXT_ATTEMPT\tLAST_ERROR"
                    );
                    for m in &list {
                        let operation = match &m.evse_id {
                            Some(evse) => format!("{} ({evse})", m.operation),
                            None => m.operation.clone(),
                        };
                        let _ = writeln!(
                            out,
                            "{}\t{}\t{}\t{operation}\t{}\t{}\t{}\t{}",
                            m.id,
                            m.state,
                            m.target,
                            m.attempts,
                            m.created_at,
                            m.next_attempt_at.as_deref().unwrap_or("-"),
                            m.last_error.as_deref().unwrap_or("-")
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    let _ = writeln!(err, "error: reading the outbox failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        OutboxCommand::Retry { id, .. } => {
            let id = *id;
            match system.block_on(store.outbox_retry(id, chrono::Utc::now())) {
                Ok(RetryOutcome::Retried) => {
                    let _ = writeln!(out, "message {id} is pending again");
                    ExitCode::SUCCESS
                }
                Ok(RetryOutcome::NotFound) => {
                    let _ = writeln!(err, "error: no message {id}");
                    ExitCode::FAILURE
                }
                Ok(RetryOutcome::NotDead) => {
                    let _ = writeln!(err, "error: message {id} is pending, not dead");
                    ExitCode::FAILURE
                }
                Err(e) => {
                    let _ = writeln!(err, "error: writing the outbox failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        OutboxCommand::Drop { id, .. } => match system.block_on(store.outbox_drop(*id)) {
            Ok(true) => {
                let _ = writeln!(out, "message {id} dropped");
                ExitCode::SUCCESS
            }
            Ok(false) => {
                let _ = writeln!(err, "error: no message {id}");
                ExitCode::FAILURE
            }
            Err(e) => {
                let _ = writeln!(err, "error: writing the outbox failed: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn explain_route(
    operation: &str,
    partner: &str,
    config: &std::path::Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ExitCode {
    let Some(op) = Operation::from_name(operation) else {
        let names: Vec<&str> = Operation::ALL.iter().map(|o| o.name()).collect();
        let _ = writeln!(
            err,
            "unknown operation '{operation}'; known operations: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let role = crate::routing::partner_role(op);
    let partner = match crate::config::PartnerId::parse(role, partner) {
        Ok(p) => p,
        Err(e) => {
            let who = match role {
                crate::config::Role::Cpo => "a CPO, so an OperatorID",
                crate::config::Role::Emp => "an EMP, so a ProviderID",
            };
            let _ = writeln!(err, "invalid partner for {op} (the partner is {who}): {e}");
            return ExitCode::from(2);
        }
    };
    // The whole configuration is checked, as `run` would: a file that cannot start a node
    // explains nothing.
    match crate::config::Config::load(config) {
        Ok(c) => {
            let _ = out.write_all(c.routing.explain(op, &partner).as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            ExitCode::from(2)
        }
    }
}

fn validate(
    operation: &str,
    file: &PathBuf,
    response: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ExitCode {
    let Some(op) = Operation::from_name(operation) else {
        let names: Vec<&str> = Operation::ALL.iter().map(|o| o.name()).collect();
        let _ = writeln!(
            err,
            "unknown operation '{operation}'; known operations: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let bytes = match read_input(file) {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(err, "cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let kind = if response {
        BodyKind::Response
    } else {
        BodyKind::Request
    };
    match op.validate(kind, &bytes) {
        Ok(()) => {
            let _ = writeln!(out, "valid");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                let _ = writeln!(out, "{e}");
            }
            let what = if response {
                op.response_type()
            } else {
                op.request_type()
            };
            let _ = writeln!(err, "invalid {what}: {} error(s)", errors.len());
            ExitCode::FAILURE
        }
    }
}

/// Logs go to standard error; `RUST_LOG` selects (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

fn run_node(path: &std::path::Path, err: &mut dyn Write) -> ExitCode {
    init_tracing();
    let config = match crate::config::Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = actix_web::rt::System::new().block_on(async move {
        let app = crate::node::Application::build(config).await?;
        tracing::info!(port = app.port(), "roambridge node listening");
        app.run_until_stopped()
            .await
            .map_err(crate::node::StartError::Io)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_input(file: &PathBuf) -> std::io::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(file)
    }
}
